// Keys of the key-value store: 32-bit ids, optionally derived from names.
#pragma once

#include <cstdint>
#include <string_view>

namespace cairn::kvs {

using Key = uint32_t;

// The documented name hash: 32-bit FNV-1a over the bytes of `name`
// (offset basis 0x811C9DC5, prime 0x01000193). Two names that hash alike
// are the same key; avoiding such collisions is the caller's job (the
// `cairn` tool lists the names it knows next to their keys).
constexpr Key KeyFromName(std::string_view name) {
  uint32_t hash = 0x811C9DC5u;
  for (char c : name) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 0x01000193u;
  }
  return hash;
}

}  // namespace cairn::kvs
