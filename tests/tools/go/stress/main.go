// SPDX-License-Identifier: MIT

// stress DIR PIDFILE: many goroutines (so many threads) making file calls
// in DIR at once, moving into it and running programs stored in it, until
// killed.  Its pid goes to PIDFILE once they run.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
)

func main() {
	dir, pidfile := os.Args[1], os.Args[2]
	runtime.GOMAXPROCS(8)
	for g := 0; g < 32; g++ {
		go func(g int) {
			mine := filepath.Join(dir, "g"+strconv.Itoa(g))
			for i := 0; ; i++ {
				os.MkdirAll(mine, 0755)
				name := filepath.Join(mine, "f"+strconv.Itoa(i%4))
				os.WriteFile(name, []byte(fmt.Sprint(g, i)), 0644)
				os.ReadFile(filepath.Join(dir, "foo"))
				os.Stat(filepath.Join(dir, "docs", "readme.txt"))
				os.ReadDir(dir)
				os.Rename(name, name+".r")
				os.Remove(name + ".r")
				f, err := os.OpenFile(filepath.Join(dir, "foo"), os.O_APPEND|os.O_WRONLY, 0)
				if err == nil {
					f.WriteString("x")
					f.Close()
				}
			}
		}(g)
	}
	// Calls the supervisor answers by changing the thread (ptrace): the
	// working directory moved into the view, programs and a "#!" script
	// stored in it run.
	go func() {
		for {
			os.Chdir(filepath.Join(dir, "docs"))
			os.Chdir(dir)
		}
	}()
	go func() {
		for {
			exec.Command(filepath.Join(dir, "bin", "hello.sh"), "x").Run()
			exec.Command(filepath.Join(dir, "bin", "true")).Run()
		}
	}()
	os.WriteFile(pidfile+".tmp", []byte(strconv.Itoa(os.Getpid())), 0644)
	os.Rename(pidfile+".tmp", pidfile)
	select {}
}
