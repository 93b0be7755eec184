/* The demo's program: built inside the view by `make demo`. */
#include <stdio.h>

int main(void)
{
	puts("hello from a program built inside a layerfs view");
	return 0;
}
