//go:build !linux

package rotatingfile

func runChild() bool { return false }
