/* complete.c - Tab's candidates; see complete.h for the contract.
 *
 * Prefixes are compared after case folding (pseudo_fold()), the way the server compares
 * pseudos; candidates keep the case the server wrote. Pseudos come out sorted (folded), so
 * the list readline shows is stable from one Tab to the next.
 */
#include "complete.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/pseudo.h"
#include "common/xalloc.h"
#include "roster.h"
#include "style.h"

const char *const complete_commands[] = {
    "/ban",      "/clear",      "/deop",     "/help",  "/history", "/invite", "/join",
    "/kick",     "/me",         "/mode",     "/msg",   "/nick",    "/op",     "/part",
    "/password", "/quit",       "/register", "/rooms", "/say",     "/search", "/topic",
    "/unban",    "/unregister", "/who",      NULL};

static void add(struct complete_list *l, const char *s, size_t len, const char *suffix)
{
    l->items = xgrow(l->items, &l->cap, l->n + 1, sizeof(*l->items), 8);
    size_t slen = strlen(suffix);
    char *item = xmalloc(len + slen + 1);
    memcpy(item, s, len);
    memcpy(item + len, suffix, slen + 1);
    l->items[l->n++] = item;
}

/* Whether the folded forms of word[0..wlen) start s. */
static bool has_prefix(const char *s, const char *word, size_t wlen)
{
    struct buf fs = BUF_INIT, fw = BUF_INIT;
    pseudo_fold(s, strlen(s), &fs);
    pseudo_fold(word, wlen, &fw);
    bool yes = fw.len <= fs.len && memcmp(fs.data, fw.data, fw.len) == 0;
    buf_release(&fs);
    buf_release(&fw);
    return yes;
}

static int by_folded_name(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    struct buf fx = BUF_INIT, fy = BUF_INIT;
    pseudo_fold(x, strlen(x), &fx);
    pseudo_fold(y, strlen(y), &fy);
    int c = strcmp(fx.data, fy.data);
    buf_release(&fx);
    buf_release(&fy);
    return c;
}

static void pseudos(const struct roster *r, const char *self, const char *word, size_t wlen,
                    const char *suffix, struct complete_list *out)
{
    size_t first = out->n;
    for (size_t i = 0; i < r->n; i++) {
        const char *name = r->names[i];
        if (self && strlen(self) == strlen(name) && has_prefix(name, self, strlen(self))) {
            continue; /* ourselves */
        }
        if (has_prefix(name, word, wlen)) {
            add(out, name, strlen(name), suffix);
        }
    }
    if (out->n > first) {
        qsort(out->items + first, out->n - first, sizeof(*out->items), by_folded_name);
    }
}

void complete_candidates(const char *line, size_t start, size_t end, const struct roster *r,
                         const char *self, struct complete_list *out)
{
    const char *word = line + start;
    size_t wlen = end - start;
    /* The first word: nothing but blanks before it. */
    size_t lead = 0;
    while (lead < start && (line[lead] == ' ' || line[lead] == '\t')) {
        lead++;
    }
    bool first_word = lead == start;
    if (first_word && wlen > 0 && word[0] == '/') {
        for (const char *const *c = complete_commands; *c; c++) {
            if (strncmp(*c, word, wlen) == 0) {
                add(out, *c, strlen(*c), "");
            }
        }
        return;
    }
    if (first_word) {
        pseudos(r, self, word, wlen, ":", out);
        return;
    }
    pseudos(r, self, word, wlen, "", out); /* after "/msg ", or anywhere in the text */
}

void complete_list_release(struct complete_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i]);
    }
    free(l->items);
    *l = (struct complete_list){0};
}
