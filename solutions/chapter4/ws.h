/*
 * ws: the WebSocket codec (RFC 6455) that wsecho (ex4.6) uses: pure functions on bytes, no I/O,
 * no state, so each one can be tested alone.
 *
 *  - the opening handshake's answer: Sec-WebSocket-Accept = base64(SHA-1(key + WS_GUID)),
 *    computed with OpenSSL's libcrypto (ws_accept_key), and the check of the client's key;
 *  - a frame's header, read (ws_frame_parse) and written (ws_frame_header);
 *  - masking: every frame a client sends has its payload XORed with a 4-byte key that the
 *    header carries (ws_mask undoes it, or does it: XOR is its own inverse);
 *  - the check that a text message is valid UTF-8 (ws_utf8_valid) and that a close frame's
 *    status code may be sent on the wire (ws_close_code_valid).
 *
 * A frame on the wire (RFC 6455 section 5.2), most significant bit first:
 *
 *   byte 0: FIN | RSV1 | RSV2 | RSV3 | opcode (4 bits)
 *   byte 1: MASK | payload length (7 bits): 0-125 the length itself, 126: the length follows
 *           in 2 bytes, 127: it follows in 8 bytes (network byte order, top bit 0)
 *   then the 4-byte masking key when MASK is set, then the payload.
 *
 * So a header is 2 to 14 bytes: 2 + (0, 2 or 8) + (0 or 4).
 */
#ifndef SVRLAB_WS_H
#define SVRLAB_WS_H

#include <stddef.h>
#include <stdint.h>

/* The string RFC 6455 appends to the client's key before hashing it. */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
/* Characters of a Sec-WebSocket-Accept value: base64 of a 20-byte SHA-1 digest. */
#define WS_ACCEPT_LEN 28
/* The longest key ws_accept_key takes (a valid one is 24 characters). */
#define WS_KEY_MAX 128
/* The longest frame header: 2 + 8 (64-bit length) + 4 (masking key). */
#define WS_HEADER_MAX 14
/* The most payload a control frame (close, ping, pong) may carry. */
#define WS_CONTROL_MAX 125

/* Opcodes (the low 4 bits of byte 0). 3-7 and 11-15 are reserved. */
enum ws_opcode {
    WS_OP_CONT = 0x0,   /* continuation of a fragmented message */
    WS_OP_TEXT = 0x1,   /* a message of UTF-8 text */
    WS_OP_BINARY = 0x2, /* a message of bytes */
    WS_OP_CLOSE = 0x8,  /* control: the closing handshake */
    WS_OP_PING = 0x9,   /* control: answer with a pong carrying the same payload */
    WS_OP_PONG = 0xA,   /* control: the answer to a ping (or a heartbeat) */
};

/* Status codes of a close frame (RFC 6455 section 7.4.1) that wsecho sends. */
enum ws_close_status {
    WS_CLOSE_NORMAL = 1000,       /* done */
    WS_CLOSE_GOING_AWAY = 1001,   /* the server is stopping */
    WS_CLOSE_PROTOCOL = 1002,     /* a protocol error: unmasked, reserved bits, bad control */
    WS_CLOSE_BAD_DATA = 1007,     /* a text message that is not UTF-8, and the like */
    WS_CLOSE_TOO_BIG = 1009,      /* a message over the server's limit */
    WS_CLOSE_INTERNAL = 1011,     /* the server failed (out of memory) */
};

/* A frame header as ws_frame_parse reads it. */
struct ws_frame {
    unsigned fin;        /* 1: the last frame of its message */
    unsigned rsv;        /* RSV1, RSV2, RSV3 as a 3-bit number (RSV1 = 4); 0 without extensions */
    unsigned opcode;     /* enum ws_opcode, or a reserved value: the caller judges */
    unsigned masked;     /* 1: the payload is masked with mask[] */
    uint8_t mask[4];     /* the masking key (zeros when not masked) */
    uint64_t len;        /* payload bytes */
    size_t header_len;   /* bytes of the header: 2 to WS_HEADER_MAX */
};

/*
 * The Sec-WebSocket-Accept value for the client's Sec-WebSocket-Key key[0..key_len):
 * base64(SHA-1(key + WS_GUID)), written to out as WS_ACCEPT_LEN characters and a NUL. The key
 * is hashed as it is (its base64 is not decoded). Returns 0, or -1 with errno EINVAL (key_len
 * 0 or over WS_KEY_MAX) or EIO (libcrypto failed).
 * Example (RFC 6455 section 1.3): "dGhlIHNhbXBsZSBub25jZQ==" -> "s3pPLMBiTxaQ9kGzzo+BOoo2ZxE=".
 */
int ws_accept_key(const char *key, size_t key_len, char out[WS_ACCEPT_LEN + 1]);

/* 1 if key[0..key_len) is a valid Sec-WebSocket-Key: the base64 of 16 bytes, that is 22
 * base64 characters and "==". Else 0. */
int ws_key_valid(const char *key, size_t key_len);

/*
 * Read the frame header at the start of buf[0..avail). Returns the header's length (2 to
 * WS_HEADER_MAX) with *f filled in once the whole header is there; 0 when more bytes are
 * needed (f untouched); -1 with errno EPROTO when it can never be a valid header: a 64-bit
 * length with its top bit set. Only the layout is checked: reserved bits, opcodes, masking
 * and control-frame rules are the caller's (they depend on what the caller negotiated).
 */
int ws_frame_parse(const void *buf, size_t avail, struct ws_frame *f);

/*
 * Write the header of an unmasked frame (as a server sends them) with the given FIN bit,
 * opcode and payload length into out, using the shortest length form. Returns its length:
 * 2, 4 or 10.
 */
size_t ws_frame_header(uint8_t out[WS_HEADER_MAX], int fin, unsigned opcode, uint64_t len);

/*
 * Mask or unmask len bytes: dst[i] = src[i] ^ mask[(offset + i) % 4], where offset is the
 * position of src[0] in the frame's payload (so that a payload can be done in pieces).
 * dst may be src (in place); otherwise they must not overlap.
 */
void ws_mask(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t mask[4], uint64_t offset);

/*
 * 1 if s[0..len) is valid UTF-8 (RFC 3629): no overlong forms, no surrogates (U+D800 to
 * U+DFFF), nothing above U+10FFFF, no sequence cut at the end. Else 0.
 */
int ws_utf8_valid(const uint8_t *s, size_t len);

/* 1 if code may appear in a close frame on the wire, else 0: 1000-1003 and 1007-1014 (the
 * codes RFC 6455 and the IANA registry define), 3000-4999 (libraries' and applications' own).
 * 1004-1006 and 1015 are reserved and never sent; everything else is unassigned. */
int ws_close_code_valid(unsigned code);

#endif
