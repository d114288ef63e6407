/*
 * mdloop: the main loop of a logic process behind io_conn (ex4.4-ex4.6): given, shared by the
 * programs that consume io_conn's queue the way md does (wsecho; md's own serve() is the same
 * loop). Not an exercise: you read it, you do not edit it.
 *
 * The program's work is a "pass": take what waits in the input queue (at most a batch, so
 * that signals get their turn), answer it, and say what stopped it. mdloop runs passes until
 * SIGINT or SIGTERM, and between them waits the way the last pass asks:
 *
 *   MDLOOP_MOVED   work was done: run the next pass at once;
 *   MDLOOP_EMPTY   the input is empty: look again for IOMD_SPIN_NS (iomd_wait_ready: a busy
 *                  io_conn sends the next message soon), then announce the sleep (shmmq_sleep) and
 *                  sleep on the queue's FIFO and the signal pipe (poll); shmmq_woken after;
 *   MDLOOP_FULL    the queue ahead has no room: sleep MDLOOP_RETRY_MS, then try again (the
 *                  pass keeps what it could not send: nothing is dropped, and meanwhile the
 *                  input is not consumed, so io_conn stops reading its clients in turn);
 *   MDLOOP_LATER   nothing is due before *later (timing_now_ns): sleep until then;
 *   MDLOOP_BAD     an error that will not go away (errno set): stop.
 *
 * Signals come through common/sigwatch, which the caller sets up (sigwatch_init) before.
 */
#ifndef SVRLAB_MDLOOP_H
#define SVRLAB_MDLOOP_H

#include "shmmq.h"

#include <stdint.h>

#define MDLOOP_RETRY_MS 1 /* a full queue ahead: try again after this long */

/* What a pass did, and so how the loop waits before the next one (see above). */
enum mdloop_pass { MDLOOP_MOVED, MDLOOP_EMPTY, MDLOOP_FULL, MDLOOP_LATER, MDLOOP_BAD };

struct mdloop {
    shmmq *in; /* the input queue: its FIFO wakes the loop (shmmq_fd) */
    /* One pass; *later is for MDLOOP_LATER. ctx: the program's own state. */
    enum mdloop_pass (*pass)(void *ctx, uint64_t *later);
    void *ctx;
    /* Optional (idle NULL: none): called after each sleep of an empty input, and at least
     * every idle_ms milliseconds while it lasts (idle_ms <= 0: only after a wake-up). It
     * returns 0 to go on, 1 to stop as after a signal. A worker checks its parent there. */
    int (*idle)(void *ctx);
    int idle_ms;
};

/*
 * Run passes until SIGINT or SIGTERM (or idle() says stop): returns 0. A pass that says
 * MDLOOP_BAD stops the loop: returns -1 with the pass's errno (the caller logs it).
 */
int mdloop_run(const struct mdloop *l);

/* poll pf[0..n) for up to timeout_ms (-1: no limit), revents cleared first. Returns poll's
 * count (0 on a timeout or EINTR); a failure other than EINTR is logged and counts as a
 * timeout. For a program's own loop (md's master) as for mdloop_run. */
struct pollfd;
int mdloop_wait(struct pollfd *pf, int n, int timeout_ms);

#endif
