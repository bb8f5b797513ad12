/* addr.c - writing addresses; see addr.h for the forms.
 *
 * Linked into both programs; pure, any thread. inet_ntop() rather than libuv's
 * uv_ip*_name(), since common code runs without an event loop.
 */
#include "addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

void addr_format(const struct sockaddr *sa, char *out, size_t size)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        snprintf(out, size, "[%s]:%d", host, ntohs(a->sin6_port));
    } else if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        snprintf(out, size, "%s:%d", host, ntohs(a->sin_port));
    } else {
        snprintf(out, size, "?:0");
    }
}

void addr_format_host(const char *host, int port, char *out, size_t size)
{
    if (strchr(host, ':')) {
        snprintf(out, size, "[%s]:%d", host, port);
    } else {
        snprintf(out, size, "%s:%d", host, port);
    }
}
