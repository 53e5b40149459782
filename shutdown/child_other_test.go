//go:build !unix

package shutdown_test

// runChild is the child half of the signal tests, which need Unix signals;
// elsewhere this binary is never a child.
func runChild() bool { return false }
