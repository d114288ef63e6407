/*
 * ws.c: the WebSocket codec of wsecho (ex4.6): the handshake's accept value, frame headers,
 * masking, UTF-8 and close-code checks. Pure functions: ws.h says what each one promises.
 */
#include "ws.h"

#include <openssl/evp.h>

#include <errno.h>
#include <string.h>

#define WS_GUID_LEN (sizeof WS_GUID - 1)
#define SHA1_LEN 20

int ws_accept_key(const char *key, size_t key_len, char out[WS_ACCEPT_LEN + 1])
{
    /* YOUR CODE HERE: out = base64(SHA-1(key + WS_GUID)) with EVP_Digest(..., EVP_sha1(), ...) and EVP_EncodeBlock */
    (void)key;
    (void)key_len;
    (void)out;
    errno = ENOSYS;
    return -1;
}

static int is_base64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

int ws_key_valid(const char *key, size_t key_len)
{
    /* 16 bytes are 128 bits: 21 whole base64 characters (126 bits), a 22nd holding the last
     * 2 bits, and "==" for the missing third byte of the last group. */
    if (key_len != 24 || key[22] != '=' || key[23] != '=')
        return 0;
    for (size_t i = 0; i < 22; i++)
        if (!is_base64_char(key[i]))
            return 0;
    return 1;
}

int ws_frame_parse(const void *buf, size_t avail, struct ws_frame *f)
{
    /* YOUR CODE HERE: read FIN, RSV, opcode, MASK, the 7/16/64-bit length and the key; 0 if incomplete */
    (void)buf;
    (void)avail;
    (void)f;
    errno = ENOSYS;
    return -1;
}

size_t ws_frame_header(uint8_t out[WS_HEADER_MAX], int fin, unsigned opcode, uint64_t len)
{
    out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xffff) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

void ws_mask(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t mask[4], uint64_t offset)
{
    /* The key turned so that its byte 0 lines up with src[0], twice: one 64-bit word masks
     * eight bytes at a time (memcpy: no alignment assumed, compiled to plain loads). */
    uint8_t m[8];
    for (int i = 0; i < 8; i++)
        m[i] = mask[(offset + (uint64_t)i) & 3];
    uint64_t word;
    memcpy(&word, m, 8);

    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t v;
        memcpy(&v, src + i, 8);
        v ^= word;
        memcpy(dst + i, &v, 8);
    }
    for (; i < len; i++)
        dst[i] = src[i] ^ m[i & 7];
}

int ws_utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (s[i] < 0x80) {
            /* text is mostly ASCII: skip it eight bytes at a time */
            for (; i + 8 <= len; i += 8) {
                uint64_t w;
                memcpy(&w, s + i, 8);
                if (w & 0x8080808080808080ull)
                    break;
            }
            while (i < len && s[i] < 0x80)
                i++;
            continue;
        }
        /* A lead byte says how many continuation bytes follow; the range allowed for the
         * first of them rules out overlong forms (E0, F0), surrogates (ED) and code points
         * above U+10FFFF (F4). C0, C1 and F5-FF never appear. */
        uint8_t c = s[i], lo = 0x80, hi = 0xbf;
        size_t n;
        if (c >= 0xc2 && c <= 0xdf)
            n = 1;
        else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            if (c == 0xe0)
                lo = 0xa0;
            else if (c == 0xed)
                hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            if (c == 0xf0)
                lo = 0x90;
            else if (c == 0xf4)
                hi = 0x8f;
        } else
            return 0;
        if (len - i - 1 < n || s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t k = 2; k <= n; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
        i += n + 1;
    }
    return 1;
}

int ws_close_code_valid(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}
