/*
 * test_ws.c: unit tests of ex4.6 (*), the WebSocket codec ws.c that wsecho uses.
 *
 * Each test calls the student's functions directly on bytes written here: the accept value of
 * RFC 6455's own example key (and of two more keys, worked out with another SHA-1 and base64),
 * frame headers of each length form (7-bit, 16-bit, 64-bit), masked and not, cut short at every
 * byte, the headers ws_frame_header writes, masking in one piece and in pieces, and UTF-8 that
 * must pass or fail. Expected bytes come from the RFC's examples (section 5.7) or from the
 * layout itself, never from the code under test.
 */
#include "gt.h"
#include "ws.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------------- */

/* Hex of the first bytes of buf, for messages (static buffer). */
static const char *hex(const uint8_t *buf, size_t len)
{
    static char out[3 * 16 + 8];
    size_t n = len < 16 ? len : 16, o = 0;
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(out + o, sizeof out - o, "%s%02x", i ? " " : "", buf[i]);
    if (len > n)
        snprintf(out + o, sizeof out - o, " ...");
    if (len == 0)
        snprintf(out, sizeof out, "(no bytes)");
    return out;
}

/* ws_frame_parse on buf[0..len) must return the whole header: want_hlen, with *f filled. */
static void parse_whole(const char *what, const uint8_t *buf, size_t len, size_t want_hlen,
                        struct ws_frame *f)
{
    memset(f, 0xa5, sizeof *f);
    errno = 0;
    int r = ws_frame_parse(buf, len, f);
    if (r == -1) {
        gt_fail_if_not_implemented("ws_frame_parse");
        gt_fail("ws_frame_parse(%s: %s, %zu bytes) returned -1 (%s), expected %zu (the header's "
                "length)",
                what, hex(buf, len), len, strerror(errno), want_hlen);
    }
    if (r != (int)want_hlen)
        gt_fail("ws_frame_parse(%s: %s, %zu bytes) returned %d, expected %zu (the header's "
                "length)",
                what, hex(buf, len), len, r, want_hlen);
    if (f->header_len != want_hlen)
        gt_fail("ws_frame_parse(%s) returned %d but set header_len to %zu", what, r,
                f->header_len);
}

static void expect_frame(const char *what, const struct ws_frame *f, unsigned fin, unsigned rsv,
                         unsigned opcode, unsigned masked, const uint8_t *mask, uint64_t len)
{
    if (f->fin != fin || f->rsv != rsv || f->opcode != opcode || f->masked != masked)
        gt_fail("ws_frame_parse(%s): got fin %u rsv %u opcode 0x%x masked %u, expected fin %u "
                "rsv %u opcode 0x%x masked %u",
                what, f->fin, f->rsv, f->opcode, f->masked, fin, rsv, opcode, masked);
    if (f->len != len)
        gt_fail("ws_frame_parse(%s): got payload length %llu, expected %llu", what,
                (unsigned long long)f->len, (unsigned long long)len);
    if (masked && memcmp(f->mask, mask, 4) != 0)
        gt_fail("ws_frame_parse(%s): got masking key %02x %02x %02x %02x, expected %02x %02x "
                "%02x %02x",
                what, f->mask[0], f->mask[1], f->mask[2], f->mask[3], mask[0], mask[1], mask[2],
                mask[3]);
}

/* Every strict prefix of a header must give 0 ("more bytes needed"). */
static void expect_incomplete(const char *what, const uint8_t *buf, size_t hlen)
{
    for (size_t n = 0; n < hlen; n++) {
        struct ws_frame f;
        errno = 0;
        int r = ws_frame_parse(buf, n, &f);
        if (r == -1)
            gt_fail_if_not_implemented("ws_frame_parse");
        if (r != 0)
            gt_fail("ws_frame_parse(the first %zu bytes of %s: %s) returned %d, expected 0: the "
                    "header is %zu bytes, so more are needed",
                    n, what, hex(buf, n), r, hlen);
    }
}

/* ---- the accept value ------------------------------------------------------------------ */

static void expect_accept(const char *key, const char *want)
{
    char out[WS_ACCEPT_LEN + 1 + 8];
    memset(out, 'X', sizeof out);
    errno = 0;
    if (ws_accept_key(key, strlen(key), out) == -1) {
        gt_fail_if_not_implemented("ws_accept_key");
        gt_fail("ws_accept_key(\"%s\") returned -1 (%s), expected 0 and \"%s\"", key,
                strerror(errno), want);
    }
    if (memchr(out, '\0', WS_ACCEPT_LEN + 1) == NULL)
        gt_fail("ws_accept_key(\"%s\") did not end its %d-character answer with a NUL", key,
                WS_ACCEPT_LEN);
    if (strcmp(out, want) != 0)
        gt_fail("ws_accept_key(\"%s\") gave \"%s\", expected \"%s\" (base64 of the SHA-1 of the "
                "key followed by " WS_GUID ")",
                key, out, want);
}

GT_TEST(ws_accept_key_rfc_example, 10)
{
    /* RFC 6455 section 1.3 */
    expect_accept("dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    expect_accept("x3JJHMbDL1EzLkh9GBhXDw==", "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
    expect_accept("AQIDBAUGBwgJCgsMDQ4PEA==", "C/0nmHhBztSRGR1CwL6Tf4ZjwpY=");

    char out[WS_ACCEPT_LEN + 1];
    errno = 0;
    if (ws_accept_key("", 0, out) != -1 || errno != EINVAL) {
        gt_fail_if_not_implemented("ws_accept_key");
        gt_fail("ws_accept_key(\"\", 0) must return -1 with errno EINVAL (an empty key)");
    }
}

/* ---- frame headers ------------------------------------------------------------------------ */

GT_TEST(ws_frame_parse_7bit_length, 10)
{
    struct ws_frame f;
    /* RFC 6455 5.7: a single-frame unmasked text message "Hello" */
    static const uint8_t hello[] = {0x81, 0x05, 'H', 'e', 'l', 'l', 'o'};
    parse_whole("unmasked \"Hello\"", hello, sizeof hello, 2, &f);
    expect_frame("unmasked \"Hello\"", &f, 1, 0, WS_OP_TEXT, 0, NULL, 5);

    /* 5.7: the same, masked with 37 fa 21 3d */
    static const uint8_t mhello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                     0x7f, 0x9f, 0x4d, 0x51, 0x58};
    static const uint8_t key[] = {0x37, 0xfa, 0x21, 0x3d};
    parse_whole("masked \"Hello\"", mhello, sizeof mhello, 6, &f);
    expect_frame("masked \"Hello\"", &f, 1, 0, WS_OP_TEXT, 1, key, 5);
    expect_incomplete("masked \"Hello\"", mhello, 6);

    /* 5.7: the first fragment "Hel" of a text message (FIN clear), then a masked ping */
    static const uint8_t frag[] = {0x01, 0x03, 'H', 'e', 'l'};
    parse_whole("fragment \"Hel\"", frag, sizeof frag, 2, &f);
    expect_frame("fragment \"Hel\"", &f, 0, 0, WS_OP_TEXT, 0, NULL, 3);
    static const uint8_t ping[] = {0x89, 0x85, 1, 2, 3, 4};
    parse_whole("masked ping", ping, sizeof ping, 6, &f);
    expect_frame("masked ping", &f, 1, 0, WS_OP_PING, 1, ping + 2, 5);

    /* the reserved bits and an opcode are reported, not judged; 125 is the largest 7-bit form;
     * an empty masked close frame */
    static const uint8_t odd[] = {0x33, 0xfd, 9, 8, 7, 6};
    parse_whole("RSV2+RSV3, opcode 3, 125 bytes", odd, sizeof odd, 6, &f);
    expect_frame("RSV2+RSV3, opcode 3, 125 bytes", &f, 0, 3, 3, 1, odd + 2, 125);
    static const uint8_t close0[] = {0x88, 0x80, 0xaa, 0xbb, 0xcc, 0xdd};
    parse_whole("empty masked close", close0, sizeof close0, 6, &f);
    expect_frame("empty masked close", &f, 1, 0, WS_OP_CLOSE, 1, close0 + 2, 0);
}

GT_TEST(ws_frame_parse_16bit_length, 10)
{
    struct ws_frame f;
    /* 5.7: a 256-byte unmasked binary message: 82 7E 0100 */
    static const uint8_t b256[] = {0x82, 0x7e, 0x01, 0x00};
    parse_whole("256-byte binary", b256, sizeof b256, 4, &f);
    expect_frame("256-byte binary", &f, 1, 0, WS_OP_BINARY, 0, NULL, 256);
    expect_incomplete("256-byte binary", b256, 4);

    /* the bounds of the form, masked: 126 and 65535 */
    static const uint8_t m126[] = {0x82, 0xfe, 0x00, 0x7e, 0x11, 0x22, 0x33, 0x44};
    parse_whole("masked 126-byte binary", m126, sizeof m126, 8, &f);
    expect_frame("masked 126-byte binary", &f, 1, 0, WS_OP_BINARY, 1, m126 + 4, 126);
    expect_incomplete("masked 126-byte binary", m126, 8);
    static const uint8_t m65535[] = {0x00, 0xfe, 0xff, 0xff, 0x01, 0x02, 0x03, 0x04};
    parse_whole("masked 65535-byte continuation", m65535, sizeof m65535, 8, &f);
    expect_frame("masked 65535-byte continuation", &f, 0, 0, WS_OP_CONT, 1, m65535 + 4, 65535);
}

GT_TEST(ws_frame_parse_64bit_length, 10)
{
    struct ws_frame f;
    /* 5.7: a 64 KiB unmasked binary message: 82 7F 0000000000010000 */
    static const uint8_t b64k[] = {0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00};
    parse_whole("65536-byte binary", b64k, sizeof b64k, 10, &f);
    expect_frame("65536-byte binary", &f, 1, 0, WS_OP_BINARY, 0, NULL, 65536);
    expect_incomplete("65536-byte binary", b64k, 10);

    /* every byte of the length counts, most significant first; masked: 14-byte header */
    static const uint8_t big[] = {0x82, 0xff, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
                                  0xde, 0xad, 0xbe, 0xef};
    parse_whole("masked 0x0123456789abcdef-byte binary", big, sizeof big, 14, &f);
    expect_frame("masked 0x0123456789abcdef-byte binary", &f, 1, 0, WS_OP_BINARY, 1, big + 10,
                 0x0123456789abcdefull);
    expect_incomplete("masked 0x0123456789abcdef-byte binary", big, 14);

    /* the top bit of a 64-bit length must be 0: never a header */
    static const uint8_t bad[] = {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4};
    errno = 0;
    int r = ws_frame_parse(bad, sizeof bad, &f);
    if (r == -1)
        gt_fail_if_not_implemented("ws_frame_parse");
    if (r != -1 || errno != EPROTO)
        gt_fail("ws_frame_parse(%s) returned %d (errno %s), expected -1 with EPROTO: a 64-bit "
                "length with its most significant bit set is a protocol error",
                hex(bad, sizeof bad), r, strerror(errno));
}

GT_TEST(ws_frame_header_shortest_form, 10)
{
    static const struct {
        uint64_t len;
        size_t hlen;
        uint8_t b1;
    } cases[] = {{0, 2, 0}, {5, 2, 5}, {125, 2, 125}, {126, 4, 126}, {65535, 4, 126},
                 {65536, 10, 127}, {0x0123456789abcdefull, 10, 127}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t out[WS_HEADER_MAX + 2];
        memset(out, 0xee, sizeof out);
        size_t n = ws_frame_header(out, 1, WS_OP_BINARY, cases[i].len);
        if (n != cases[i].hlen || out[0] != 0x82 || out[1] != cases[i].b1)
            gt_fail("ws_frame_header(fin 1, binary, %llu bytes) wrote %s (%zu bytes); expected "
                    "%zu bytes starting 82 %02x (unmasked, the shortest length form)",
                    (unsigned long long)cases[i].len, hex(out, n < sizeof out ? n : sizeof out),
                    n, cases[i].hlen, cases[i].b1);
        uint64_t got = cases[i].b1;
        for (size_t k = 2; k < n; k++)
            got = k == 2 ? out[k] : got << 8 | out[k];
        if (got != cases[i].len)
            gt_fail("ws_frame_header(%llu bytes) wrote the length as %s",
                    (unsigned long long)cases[i].len, hex(out, n));
    }
    uint8_t out[WS_HEADER_MAX];
    if (ws_frame_header(out, 0, WS_OP_TEXT, 3) != 2 || out[0] != 0x01)
        gt_fail("ws_frame_header(fin 0, text, 3 bytes) wrote %s, expected 01 03", hex(out, 2));
    if (ws_frame_header(out, 1, WS_OP_PONG, 0) != 2 || out[0] != 0x8a || out[1] != 0)
        gt_fail("ws_frame_header(fin 1, pong, 0 bytes) wrote %s, expected 8a 00", hex(out, 2));
}

/* ---- masking ------------------------------------------------------------------------------ */

GT_TEST(ws_mask_whole_and_in_pieces, 10)
{
    /* 5.7: "Hello" masked with 37 fa 21 3d is 7f 9f 4d 51 58 */
    static const uint8_t key[] = {0x37, 0xfa, 0x21, 0x3d};
    static const uint8_t masked[] = {0x7f, 0x9f, 0x4d, 0x51, 0x58};
    uint8_t out[5];
    ws_mask(out, masked, 5, key, 0);
    if (memcmp(out, "Hello", 5) != 0)
        gt_fail("ws_mask(7f 9f 4d 51 58, key 37 fa 21 3d) gave %s, expected \"Hello\" (48 65 6c "
                "6c 6f)",
                hex(out, 5));

    /* Lengths 0 to 100 at every offset, out of place and in place, against the definition. */
    static const uint8_t k2[] = {0x01, 0x80, 0xfe, 0x5a};
    uint8_t src[128], want[128], got[128];
    gt_fill_pattern(src, sizeof src, 7);
    for (size_t len = 0; len <= 100; len++) {
        for (uint64_t off = 0; off < 8; off++) {
            for (size_t i = 0; i < len; i++)
                want[i] = src[i] ^ k2[(off + i) % 4];
            memset(got, 0, sizeof got);
            ws_mask(got, src, len, k2, off);
            if (memcmp(got, want, len) != 0)
                gt_fail("ws_mask(%zu bytes, offset %llu) is wrong: dst[i] must be src[i] ^ "
                        "mask[(offset + i) %% 4]",
                        len, (unsigned long long)off);
            memcpy(got, src, len);
            ws_mask(got, got, len, k2, off);
            if (memcmp(got, want, len) != 0)
                gt_fail("ws_mask in place (dst == src, %zu bytes, offset %llu) is wrong", len,
                        (unsigned long long)off);
        }
    }
    /* a payload unmasked in pieces of 3, 1, 9, 20 bytes is the payload unmasked whole */
    static const size_t pieces[] = {3, 1, 9, 20};
    size_t at = 0;
    for (size_t i = 0; i < 4; i++) {
        ws_mask(got + at, src + at, pieces[i], k2, at);
        at += pieces[i];
    }
    ws_mask(want, src, at, k2, 0);
    if (memcmp(got, want, at) != 0)
        gt_fail("ws_mask in pieces of 3, 1, 9 and 20 bytes (each with its offset) differs from "
                "ws_mask of the 33 bytes at once");
}

/* ---- UTF-8 ---------------------------------------------------------------------------------- */

/* a string literal and its length without the NUL (which may follow a \x escape) */
#define BYTES(lit) lit, sizeof lit - 1

GT_TEST(ws_utf8_valid_rules, 10)
{
    static const struct {
        const char *what;
        const char *bytes;
        size_t len;
        int valid;
    } cases[] = {
        {"empty", BYTES(""), 1},
        {"ASCII", BYTES("Hello, world! 0123456789 abcdefghijklmnopqrstuvwxyz"), 1},
        {"Latin letters with accents (2 bytes each)",
         BYTES("Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!"), 1},
        {"the euro sign (3 bytes)", BYTES("\xe2\x82\xac"), 1},
        {"U+10FFFF, the last code point", BYTES("\xf4\x8f\xbf\xbf"), 1},
        {"U+FFFF (a noncharacter, still valid)", BYTES("\xef\xbf\xbf"), 1},
        {"an emoji after 9 ASCII bytes", BYTES("123456789\xf0\x9f\x98\x80"), 1},
        {"a lone continuation byte", BYTES("\x80"), 0},
        {"C0 80, an overlong NUL", BYTES("\xc0\x80"), 0},
        {"E0 80 AF, an overlong '/'", BYTES("\xe0\x80\xaf"), 0},
        {"F0 8F BF BF, an overlong U+FFFF", BYTES("\xf0\x8f\xbf\xbf"), 0},
        {"ED A0 80, the surrogate U+D800", BYTES("\xed\xa0\x80"), 0},
        {"F4 90 80 80, above U+10FFFF", BYTES("\xf4\x90\x80\x80"), 0},
        {"F5, a byte that never appears", BYTES("ab\xf5\x80\x80\x80"), 0},
        {"FF", BYTES("abcdefgh\xff"), 0},
        {"a 3-byte sequence cut after 2 bytes", BYTES("abc\xe2\x82"), 0},
        {"a lead byte followed by ASCII", BYTES("\xc3("), 0},
        {"an ASCII run of 16 then a bad byte", BYTES("0123456789abcdef\xbf"), 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int r = ws_utf8_valid((const uint8_t *)cases[i].bytes, cases[i].len);
        if ((r != 0) != cases[i].valid)
            gt_fail("ws_utf8_valid(%s: %s) returned %d, expected %s", cases[i].what,
                    hex((const uint8_t *)cases[i].bytes, cases[i].len), r,
                    cases[i].valid ? "1 (valid UTF-8)" : "0 (not UTF-8)");
    }
}
