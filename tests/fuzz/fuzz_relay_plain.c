/*
 * libFuzzer target for a relay's record stream, as fuzz_relay_records.c
 * (every check there holds here), but the input names plaintext records that
 * the harness seals itself: see seal_script() there. Through the AEAD the
 * fuzzer reaches only the records in its seed corpus; here it reaches every
 * type, length and order of record a client holding the keys could send.
 */
#define FUZZ_PLAIN 1
#include "fuzz_relay_records.c"
