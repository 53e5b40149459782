package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The README's quickstart is this program: its code block must compile as
// pasted, so it is this file, checked here byte for byte (from package
// main on), and the program must run and write envelope lines.
func TestREADMEQuickstartIsThisProgram(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## Quickstart")
	if !ok {
		t.Fatal("README has no Quickstart section")
	}
	_, block, ok := strings.Cut(section, "```go\n")
	if !ok {
		t.Fatal("README's Quickstart has no go code block")
	}
	block, _, _ = strings.Cut(block, "```")
	_, program, _ := strings.Cut(string(src), "package main")
	if "package main"+program != block {
		t.Fatal("README's quickstart code block and examples/quickstart/main.go differ: copy main.go (from package main on) into the README")
	}
}

func TestQuickstartRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the program")
	}
	out, err := exec.Command("go", "run", ".").Output()
	if err != nil {
		t.Fatalf("go run: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"message":"order placed"`) || !strings.Contains(lines[0], `"service":"checkout"`) {
		t.Fatalf("unexpected output:\n%s", out)
	}
}
