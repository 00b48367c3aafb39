// cairn_damage: makes damaged images for the end-to-end tests.
//
//   cairn_damage flip IMG ADDR BIT         toggle one bit (a retention error)
//   cairn_damage fill IMG ADDR LEN BYTE    overwrite LEN bytes with BYTE
//   cairn_damage find IMG KEY              print "SLOT_ADDR VALUE_ADDR SIZE"
//                                          for every entry of KEY
//   cairn_damage cut IMG N MODE KEY VALUE  Put KEY=VALUE with the power cut
//                                          at flash operation N (MODE prefix
//                                          or bits); saves the torn image
//   cairn_damage failprog IMG N KEY VALUE  Put KEY=VALUE with the N-th
//                                          program call failing (the store
//                                          voids it and writes again)
//   cairn_damage tornact IMG SEQ [SLOTS]   program an activation unit with
//                                          sequence SEQ (and prev_slots
//                                          SLOTS, default 34111) into the
//                                          sector after the active one (a
//                                          torn activation that passed its
//                                          CRC by chance)
// Addresses are absolute flash addresses (decimal or 0x-hex).
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>

#include "commands.h"
#include "scan.h"

using namespace cairn;
using namespace cairn::tool;

int main(int argc, char** argv) {
  try {
    if (argc < 3) throw Error(kExitUsage, "usage: see tools/damage.cc");
    std::string cmd = argv[1];
    std::string path = argv[2];
    std::unique_ptr<Image> image = Image::Load(path, ImageOptions());
    RamFlashBase& flash = image->flash();
    auto num = [&](int i) {
      if (i >= argc) throw Error(kExitUsage, "missing argument");
      return ParseUnsigned(argv[i], UINT64_MAX, "argument", kExitUsage);
    };
    if (cmd == "flip") {
      size_t addr = num(3);
      if (addr >= flash.bytes().size()) throw Error(kExitUsage, "address");
      flash.FlipBit(addr, unsigned(num(4)));
    } else if (cmd == "fill") {
      size_t addr = num(3), len = num(4);
      if (addr + len > flash.bytes().size()) throw Error(kExitUsage, "range");
      for (size_t i = 0; i < len; ++i) {
        flash.bytes()[addr + i] = std::byte(num(5));
      }
    } else if (cmd == "find") {
      if (argc < 4) throw Error(kExitUsage, "missing KEY");
      kvs::Key key = ParseKey(argv[3], nullptr);
      for (const PartitionSpec& p : image->layout().partitions) {
        if (p.kind != PartitionKind::kKvs) continue;
        KvsScan scan = ScanKvs(*image, p);
        for (const SectorInfo& si : scan.sectors) {
          for (const SlotInfo& slot : si.slots) {
            if (slot.decoded && slot.header.key == key) {
              fmt::print("{} {} {}\n", slot.address, slot.value_address,
                         slot.value_size);
            }
          }
        }
      }
      return 0;
    } else if (cmd == "cut") {
      if (argc < 7) throw Error(kExitUsage, "cut IMG N MODE KEY VALUE");
      const PartitionSpec& spec = image->Partition("", PartitionKind::kKvs);
      KvsHandle kvs(*image, spec);
      Status s = kvs.Init();
      if (!s.ok()) Fail(s, "mount");
      std::string mode = argv[4];
      flash.CutPowerAt(
          num(3), mode == "bits" ? TearMode::kRandomBits : TearMode::kPrefix);
      std::string value = argv[6];
      s = kvs.store().Put(ParseKey(argv[5], nullptr),
                          std::as_bytes(std::span(value.data(), value.size())));
      fmt::print("put returned {} (power {})\n", s.str(),
                 flash.power_is_cut() ? "cut" : "on");
      flash.ClearFaults();
      flash.PowerOn();
    } else if (cmd == "failprog") {
      if (argc < 6) throw Error(kExitUsage, "failprog IMG N KEY VALUE");
      const PartitionSpec& spec = image->Partition("", PartitionKind::kKvs);
      KvsHandle kvs(*image, spec);
      Status s = kvs.Init();
      if (!s.ok()) Fail(s, "mount");
      flash.FailNext(FlashOp::kProgram, static_cast<uint32_t>(num(3)),
                     Status::Internal());
      std::string value = argv[5];
      s = kvs.store().Put(ParseKey(argv[4], nullptr),
                          std::as_bytes(std::span(value.data(), value.size())));
      fmt::print("put returned {}\n", s.str());
      flash.ClearFaults();
    } else if (cmd == "tornact") {
      const PartitionSpec& spec = image->Partition("", PartitionKind::kKvs);
      const KvsScan scan = ScanKvs(*image, spec);
      const SectorInfo* active = nullptr;
      for (const SectorInfo& si : scan.sectors) {
        if (si.activation_state == kvs::format::UnitState::kValid &&
            (active == nullptr ||
             si.activation.sequence > active->activation.sequence)) {
          active = &si;
        }
      }
      if (active == nullptr) throw Error(kExitUsage, "no active sector");
      const SectorInfo& next =
          scan.sectors[(active->index + 1) % scan.sectors.size()];
      std::array<std::byte, 8> unit;
      const uint16_t slots = static_cast<uint16_t>(argc > 4 ? num(4) : 34111);
      kvs::format::EncodeActivationUnit({static_cast<uint32_t>(num(3)), slots},
                                        unit);
      const size_t at =
          next.address + kvs::format::UnitSize(image->layout().alignment);
      std::copy(unit.begin(), unit.end(), flash.bytes().begin() + at);
    } else {
      throw Error(kExitUsage, "unknown command " + cmd);
    }
    image->Save(path);
    return 0;
  } catch (const Error& e) {
    fmt::print(stderr, "cairn_damage: {}\n", e.what());
    return e.code();
  }
}
