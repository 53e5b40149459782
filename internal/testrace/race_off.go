//go:build !race

package testrace

// Enabled is true in binaries built with -race.
const Enabled = false
