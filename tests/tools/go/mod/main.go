// SPDX-License-Identifier: MIT
package main

import (
	"fmt"

	"example.com/greeter/greet"
)

func main() { fmt.Println(greet.Hello("view")) }
