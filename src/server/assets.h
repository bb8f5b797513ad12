/* assets.h - the web page's files, compiled into the server binary.
 *
 * scripts/embed-web.sh turns every file under web/ into a row of assets_table (the
 * Makefile builds it into the server's archive), so that the server serves its page with
 * nothing installed beside it. Immutable data; any thread.
 */
#ifndef CAUSERIE_ASSETS_H
#define CAUSERIE_ASSETS_H

#include <stddef.h>

struct asset {
    const char *path; /* "/index.html", "/app.js" */
    const char *type; /* its media type, charset included for text */
    const unsigned char *data;
    size_t len;
};

extern const struct asset assets_table[];
extern const unsigned assets_count;

/* The asset served at path ("/" is "/index.html"), or NULL. */
const struct asset *assets_find(const char *path);

#endif
