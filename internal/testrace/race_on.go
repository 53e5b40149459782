//go:build race

// Package testrace tells tests whether the race detector is on: it makes
// sync.Pool drop items at random, so allocation counts mean nothing then.
package testrace

// Enabled is true in binaries built with -race.
const Enabled = true
