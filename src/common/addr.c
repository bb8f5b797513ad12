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

bool addr_host_key(const struct sockaddr *sa, char *out, size_t size)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
            struct in_addr v4;
            memcpy(&v4, a->sin6_addr.s6_addr + 12, 4);
            inet_ntop(AF_INET, &v4, host, sizeof(host));
            snprintf(out, size, "%s", host);
            return a->sin6_addr.s6_addr[12] == 127;
        }
        struct in6_addr prefix = a->sin6_addr;
        memset(prefix.s6_addr + 8, 0, 8);
        inet_ntop(AF_INET6, &prefix, host, sizeof(host));
        snprintf(out, size, "%s/64", host);
        return IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
    }
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        snprintf(out, size, "%s", host);
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    snprintf(out, size, "?");
    return false;
}
