/*
 * mdstats_none: chapter 4's md keeps no statistics per connection (mdstats.h). Given: chapter
 * 5's connstats.c puts them in a multi-hash.
 */
#include "mdstats.h"

int mdstats_open(key_t base)
{
    (void)base;
    return 0;
}

void mdstats_message(uint64_t flow, uint32_t len, uint64_t ts_ns)
{
    (void)flow;
    (void)len;
    (void)ts_ns;
}

void mdstats_closed(uint64_t flow)
{
    (void)flow;
}

void mdstats_close(void)
{
}
