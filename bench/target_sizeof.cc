// Compiled by scripts/bench.sh with arm-none-eabi-g++ only: each array's
// size is the sizeof of a store type on the 32-bit target, read back with
// arm-none-eabi-nm -S. Not part of any build.
#include "cairn/flash/flash_partition.h"
#include "cairn/kvs/key_value_store.h"

extern "C" {
// The W1 configuration: a store with room for 32 keys on one partition.
extern const unsigned char
    cairn_sizeof_kvs32[sizeof(cairn::kvs::KeyValueStore<32>)];
[[gnu::used]] const unsigned char
    cairn_sizeof_kvs32[sizeof(cairn::kvs::KeyValueStore<32>)] = {1};
extern const unsigned char
    cairn_sizeof_partition[sizeof(cairn::FlashPartition)];
[[gnu::used]] const unsigned char
    cairn_sizeof_partition[sizeof(cairn::FlashPartition)] = {1};
extern const unsigned char
    cairn_sizeof_index_entry[sizeof(cairn::kvs::IndexEntry)];
[[gnu::used]] const unsigned char
    cairn_sizeof_index_entry[sizeof(cairn::kvs::IndexEntry)] = {1};
}
