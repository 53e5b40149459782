// Package setups holds one runnable example per deployment in
// docs/setups.md ("Choose your setup"): local development, Kubernetes with a
// log agent, high volume, straight to a Collector, a SaaS HTTP endpoint, and signed
// events to a partner. Each example stands up a loopback stand-in for its
// destination, so go test runs them all and checks their output.
package setups
