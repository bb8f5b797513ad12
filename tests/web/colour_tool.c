/* colour_tool.c - the terminal client's colour for each pseudo given, for tests/web/.
 *
 * Prints one line per argument: the SGR colour parameters style_pseudo_colour() gives the
 * pseudo on a 256-colour terminal and on an 8-colour one ("38;5;41 33"). The page's
 * colour.js must give every pseudo the same colour, and tests/web/colour.test.mjs runs
 * this program to check it against the C code itself rather than against numbers copied
 * from it. Built by `make web-unit` against the client's modules; one thread, no loop.
 */
#include <stdio.h>
#include <string.h>

#include "client/style.h"
#include "common/pseudo.h"

int main(int argc, char **argv)
{
    pseudo_init(); /* folding in C.UTF-8, as the client folds */
    for (int i = 1; i < argc; i++) {
        char c256[16], c8[16];
        style_pseudo_colour(argv[i], strlen(argv[i]), true, c256, sizeof(c256));
        style_pseudo_colour(argv[i], strlen(argv[i]), false, c8, sizeof(c8));
        printf("%s %s\n", c256, c8);
    }
    pseudo_shutdown();
    return 0;
}
