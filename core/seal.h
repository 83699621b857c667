/*
 * core/seal.h - what walletd hands out that must not show its internal counters: ledger cursors
 * and ledger entry IDs.
 *
 * Owns: the cursor key (CURSOR_KEY_FILE: 32 random bytes as 64 hex digits, the same in every pod,
 * from the Secret that holds the API keys) and the two things made with it. A ledger entry's ID
 * in the database is a shard-wide counter, so showing it (or a cursor holding it) let one tenant
 * watch a shard's volume. An entry ID is now "ent_" and 32 hex digits of a keyed BLAKE2b of the
 * wallet and the counter: stable, unique, and saying nothing. A cursor is the counter encrypted
 * and authenticated (XChaCha20-Poly1305) with the wallet's ID as associated data, so it opens
 * only for the wallet it was made for and cannot be made or changed by a client. Without
 * CURSOR_KEY_FILE each pod draws its own key at start: cursors then work only on the pod that
 * made them (set it wherever there is more than one pod).
 * Thread-safety: the key is set once, before any thread or worker starts; everything else is
 * pure.
 */
#ifndef WD_CORE_SEAL_H
#define WD_CORE_SEAL_H

#include "core/error.h"

#include <stdbool.h>
#include <stdint.h>

#define WD_SEAL_CURSOR_MAX   72 /* a cursor's text and its NUL (66 characters) */
#define WD_SEAL_ENTRY_ID_LEN 36 /* "ent_" + 32 hex digits */

/* Reads the key from path (64 hex digits, a newline allowed; a file others can read is refused),
 * or with path NULL or "" draws a random one (*random set). 0 or -WD_E_CONFIG naming
 * CURSOR_KEY_FILE. */
int wd_seal_load_key(const char *path, bool *random, struct wd_error *err);

/* The cursor for "entries of wallet_id older than id". */
void wd_seal_cursor(const char *wallet_id, uint64_t id, char out[WD_SEAL_CURSOR_MAX]);

/* Opens a cursor made by wd_seal_cursor for this wallet: 0 and *id, or -1 (anything else). */
int wd_seal_open_cursor(const char *wallet_id, const char *text, uint64_t *id);

/* The public ID of the ledger entry numbered id of wallet_id. */
void wd_seal_entry_id(const char *wallet_id, uint64_t id, char out[WD_SEAL_ENTRY_ID_LEN + 1]);

#endif
