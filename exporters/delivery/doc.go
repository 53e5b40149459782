// Package delivery holds what the built-in exporters share, defined once so
// that exporters built on one mechanism cannot drift apart:
//
//   - Options: how the network exporters (exporters/http and
//     exporters/webhook) batch, bound their memory, retry and connect.
//     Each takes them through its WithDelivery option.
//   - Buffer: how the line exporters (exporters/stdoutjson and
//     exporters/rotatingfile) gather lines before writing. Each takes it
//     through its WithBuffer option.
//   - Sink: the network sink both network exporters return. A receiver
//     with its own request layout needs only a Request to get the same
//     batching, bounds, retries and flush promise from NewSink.
//
// The zero value of every field means its documented default, so a
// struct literal names only what it changes.
package delivery
