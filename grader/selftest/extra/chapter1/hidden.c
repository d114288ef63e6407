/* An instructor's hidden test: rio_write_all writes three bytes into a pipe. */
#include "gt.h"
#include "rio.h"

#include <unistd.h>

GT_TEST(hidden_rio_write_three_bytes, 10)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    ssize_t n = rio_write_all(p[1], "abc", 3);
    if (n < 0)
        gt_fail_if_not_implemented("rio_write_all(pipe, 3 bytes)");
    char buf[3];
    ck_assert_msg(n == 3 && read(p[0], buf, 3) == 3 && buf[2] == 'c', "rio_write_all(3 bytes)");
    close(p[0]);
    close(p[1]);
}
