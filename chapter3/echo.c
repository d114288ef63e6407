/*
 * echo: what the bufferevent callbacks of chapter 3's libevent servers do with a client's bytes
 * (ex3.2); see echo.h. echosvr_v1 and echosvr_v2 both link this file.
 *
 * The read callback sends the echo in the same turn of the loop when nothing else is waiting
 * for the client (one write, and the write event stays off), and moves whatever the socket
 * did not take to the output (no copy: evbuffer_add_buffer hands over the memory), which the
 * bufferevent sends when the socket has room. A client that sends without reading stops being
 * read once OUT_HIGH bytes of its echo wait (back-pressure). End of file closes once the echo
 * is out; a reset or a broken pipe is a client's normal way of leaving.
 */
#include "echo.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include <errno.h>

int echo_opened(struct conn *c, struct bufferevent *bev, void *app)
{
    c->bev = bev;
    c->app = app;
    return 0;
}

/*
 * The read callback's work: everything in c's input buffer goes to the client, written at once
 * if nothing is waiting in its output buffer, else (and whatever the socket did not take)
 * moved to the output buffer, where the bufferevent writes it out by itself. Once OUT_HIGH
 * bytes or more are waiting in the output, stop reading this client (back-pressure) and ask
 * for the write callback when the output has drained to OUT_LOW. Returns 0, or -1 with errno
 * set.
 */
int echo_input(struct conn *c)
{
    /* YOUR CODE HERE: move the input buffer to the output (evbuffer_add_buffer); above OUT_HIGH stop reading */
    (void)c;
    errno = ENOSYS;
    return -1;
}

/*
 * The write callback's work, once c's output has drained to the write low-watermark: if
 * reading was paused, resume it (and set the low-watermark back to 0); if the client has
 * closed its side and everything went out, the connection is done.
 * Returns 0 (keep the connection), 1 (close it), or -1 with errno set.
 */
int echo_output_drained(struct conn *c)
{
    /* YOUR CODE HERE: resume reading a paused client (write low-watermark back to 0); 1 once closing and empty */
    (void)c;
    errno = ENOSYS;
    return -1;
}

/*
 * The event callback's work: `what` holds BEV_EVENT_EOF or BEV_EVENT_ERROR (with
 * BEV_EVENT_READING or BEV_EVENT_WRITING). End of file: close now if nothing is waiting to be
 * sent, else mark c closing so that echo_output_drained closes it once the echo is out. An
 * error: close; a reset or a broken pipe is the client's normal way of leaving, any other
 * error is reported.
 * Returns 0 (keep the connection for now), 1 (close it), or -1 with errno set to the socket
 * error (the caller logs it and closes).
 */
int echo_conn_event(struct conn *c, short what)
{
    /* YOUR CODE HERE: end of file: close now, or once the output is empty (c->closing); errors: close */
    (void)c;
    (void)what;
    errno = ENOSYS;
    return -1;
}
