/*
 * mdloop.c: the loop of a logic process behind io_conn (mdloop.h says how it waits, and why).
 */
#include "mdloop.h"

#include "iomd.h"
#include "log.h"
#include "sigwatch.h"
#include "timing.h"

#include <errno.h>
#include <poll.h>

int mdloop_wait(struct pollfd *pf, int n, int timeout_ms)
{
    for (int i = 0; i < n; i++)
        pf[i].revents = 0;
    int r = poll(pf, (nfds_t)n, timeout_ms);
    if (r == -1) {
        if (errno != EINTR)
            log_sys("poll(%d descriptors, %d ms)", n, timeout_ms);
        return 0;
    }
    return r;
}

int mdloop_run(const struct mdloop *l)
{
    struct pollfd pf[2] = {{.fd = sigwatch_fd(), .events = POLLIN},
                           {.fd = shmmq_fd(l->in), .events = POLLIN}};
    int idle_ms = l->idle != NULL && l->idle_ms > 0 ? l->idle_ms : -1;

    while (!sigwatch_stop_requested()) {
        uint64_t later = 0;
        switch (l->pass(l->ctx, &later)) {
        case MDLOOP_MOVED:
            continue;
        case MDLOOP_BAD:
            return -1; /* errno: the pass's */
        case MDLOOP_FULL:
            mdloop_wait(pf, 1, MDLOOP_RETRY_MS);
            continue;
        case MDLOOP_LATER: {
            uint64_t now = timing_now_ns();
            if (later > now)
                mdloop_wait(pf, 1, (int)((later - now + 999999) / 1000000));
            continue;
        }
        case MDLOOP_EMPTY:
            break;
        }
        if (iomd_wait_ready(l->in) || shmmq_sleep(l->in) == 1)
            continue;
        /* Without a FIFO (shmmq_fd -1) poll only the signals, and look again every
         * MDLOOP_RETRY_MS. */
        int got =
            mdloop_wait(pf, pf[1].fd >= 0 ? 2 : 1, pf[1].fd >= 0 ? idle_ms : MDLOOP_RETRY_MS);
        if (got > 0 && (pf[1].revents & POLLIN))
            shmmq_woken(l->in);
        if (l->idle != NULL && l->idle(l->ctx) != 0)
            return 0;
    }
    return 0;
}
