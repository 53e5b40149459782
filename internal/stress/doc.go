// Package stress holds the library's stress test: many goroutines logging
// while others flush and shut down, with rotation, compression and HTTP
// retries in flight, under the race detector. It has no code of its own.
package stress
