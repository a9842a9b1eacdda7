package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
)

// profileFlags are --cpuprofile FILE and --memprofile FILE, accepted anywhere
// on any command line (before a "--"): they are taken out before the command
// parses its own flags, so every command (the TUI, sync, query, the
// emulator) can be profiled the same way. `go tool pprof opsdeck FILE`
// reads the result.
type profileFlags struct {
	cpu, mem string
}

// takeProfileFlags removes the profile flags from args.
func takeProfileFlags(args []string) (profileFlags, []string, error) {
	var pf profileFlags
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || (name != "cpuprofile" && name != "memprofile") {
			out = append(out, a)
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return pf, nil, usageError{fmt.Errorf("flag needs an argument: --%s", name)}
			}
			i++
			val = args[i]
		}
		if name == "cpuprofile" {
			pf.cpu = val
		} else {
			pf.mem = val
		}
	}
	return pf, out, nil
}

// start begins CPU profiling (when asked) and returns the function that
// stops it and writes the heap profile (when asked). Profiling problems are
// reported on stderr and never stop the command.
func (pf profileFlags) start(stderr io.Writer) (stop func()) {
	var cpuFile *os.File
	if pf.cpu != "" {
		f, err := os.OpenFile(pf.cpu, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err == nil {
			err = pprof.StartCPUProfile(f)
			if err != nil {
				f.Close()
			} else {
				cpuFile = f
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "opsdeck: --cpuprofile: %v\n", err)
		}
	}
	return func() {
		if cpuFile != nil {
			pprof.StopCPUProfile()
			cpuFile.Close()
		}
		if pf.mem != "" {
			f, err := os.OpenFile(pf.mem, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
			if err == nil {
				runtime.GC()
				err = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
			if err != nil {
				fmt.Fprintf(stderr, "opsdeck: --memprofile: %v\n", err)
			}
		}
	}
}
