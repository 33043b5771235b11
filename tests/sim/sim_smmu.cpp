// The simulated SMMUv3 (sim_smmu.hpp). Its decoding is written from the architecture
// (IHI 0070) with literal bit positions, independently of smmu/'s encoders, so a wrong
// field in the driver shows up as a wrong outcome here.
#include "tests/sim/sim_smmu.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace bulkhead::sim {
namespace {

constexpr uint64_t bits(unsigned high, unsigned low) {
  return (high == 63 ? ~0ull : (1ull << (high + 1)) - 1) & ~((1ull << low) - 1);
}
std::string hex_text(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
  return text;
}
unsigned oas_bits(uint32_t encoding) {
  static const unsigned sizes[] = {32, 36, 40, 42, 44, 48, 52, 0};
  return sizes[encoding & 7];
}

// Register offsets (IHI 0070 chapter 6).
constexpr uint32_t IDR0 = 0x0, IDR1 = 0x4, IDR5 = 0x14, IIDR = 0x18, AIDR = 0x1c, CR0 = 0x20, CR0ACK = 0x24, CR1 = 0x28,
                   CR2 = 0x2c, GBPA = 0x44, IRQ_CTRL = 0x50, IRQ_CTRLACK = 0x54, GERROR = 0x60, GERRORN = 0x64,
                   GERROR_IRQ_CFG0 = 0x68, STRTAB_BASE = 0x80, STRTAB_BASE_CFG = 0x88, CMDQ_BASE = 0x90,
                   CMDQ_PROD = 0x98, CMDQ_CONS = 0x9c, EVENTQ_BASE = 0xa0, EVENTQ_IRQ_CFG0 = 0xb0,
                   EVENTQ_PROD = 0x100a8, EVENTQ_CONS = 0x100ac;
constexpr uint32_t CR0_SMMUEN = 1, CR0_EVENTQEN = 4, CR0_CMDQEN = 8;
constexpr uint32_t GBPA_ABORT = 1u << 20, GBPA_UPDATE = 1u << 31;
constexpr uint32_t GERROR_CMDQ_ERR = 1;
constexpr uint32_t IRQ_GERROR = 1, IRQ_EVENTQ = 4;
constexpr uint32_t OVFLG = 1u << 31;

// Event types.
constexpr uint8_t C_BAD_STREAMID = 0x02, C_BAD_STE = 0x04, C_BAD_CD = 0x0a, F_STE_FETCH = 0x03, F_CD_FETCH = 0x09,
                  F_WALK_EABT = 0x0b, F_TRANSLATION = 0x10, F_ADDR_SIZE = 0x11, F_ACCESS = 0x12, F_PERMISSION = 0x13;

}  // namespace

// ---- Memory.

SimDmaMemory::SimDmaMemory(uint64_t size, uint64_t physical_base) : base_(physical_base), size_(size) {
  cpu_ = static_cast<uint8_t*>(std::calloc(size, 1));
  device_ = static_cast<uint8_t*>(std::calloc(size, 1));
  attach(physical_base, cpu_, size);
}

SimDmaMemory::~SimDmaMemory() {
  std::free(cpu_);
  std::free(device_);
}

void SimDmaMemory::publish(uint64_t physical, uint64_t bytes, bool coherent) {
  ++publishes_;
  // The target cleans the cache only for a non-coherent SMMU; so does this model.
  if (!coherent && contains(physical, bytes)) std::memcpy(device_ + (physical - base_), cpu_ + (physical - base_), bytes);
}

void SimDmaMemory::refresh(uint64_t physical, uint64_t bytes, bool coherent) {
  if (!coherent && contains(physical, bytes)) std::memcpy(cpu_ + (physical - base_), device_ + (physical - base_), bytes);
}

bool SimDmaMemory::device_read(uint64_t physical, void* out, uint64_t bytes) const {
  if (!contains(physical, bytes)) return false;
  std::memcpy(out, (device_coherent_ ? cpu_ : device_) + (physical - base_), bytes);
  return true;
}

bool SimDmaMemory::device_write(uint64_t physical, const void* data, uint64_t bytes) {
  if (!contains(physical, bytes)) return false;
  std::memcpy((device_coherent_ ? cpu_ : device_) + (physical - base_), data, bytes);
  return true;
}

// ---- Presets.

SimSmmuConfig SimSmmuConfig::qemu_7_2() {
  SimSmmuConfig c;
  // IDR0: S1P, TTF=AArch64, COHACC, ASID16, TTENDIAN=LE, STALL_MODEL=1 (none), TERM_MODEL, ST_LEVEL=2-level.
  c.idr[0] = (1u << 1) | (2u << 2) | (1u << 4) | (1u << 12) | (2u << 21) | (1u << 24) | (1u << 26) | (1u << 27);
  c.idr[1] = 16 | (19u << 16) | (19u << 21);             // SIDSIZE 16, EVENTQS 19, CMDQS 19
  c.idr[3] = (1u << 2) | (1u << 10);                    // HAD, RIL
  c.idr[5] = 4 | (1u << 4) | (1u << 6);                 // OAS 44 bits, 4 KiB and 64 KiB granules
  c.gbpa_implemented = false;
  return c;
}

SimSmmuConfig SimSmmuConfig::two_stages() {
  SimSmmuConfig c = qemu_7_2();
  c.idr[0] |= 1u | (1u << 18);  // S2P, VMID16
  c.gbpa_implemented = true;
  return c;
}

// ---- Registers.

SimSmmu::SimSmmu(SimDmaMemory& memory, SimSmmuConfig config) : memory_(memory), config_(config) {
  memory_.set_device_coherent((config.idr[0] & (1u << 4)) != 0);
}

uint32_t SimSmmu::read32(uint32_t offset) {
  switch (offset) {
    case IDR0: case 0x4: case 0x8: case 0xc: case 0x10: case IDR5: return config_.idr[offset / 4];
    case IIDR: case AIDR: return 0;
    case CR0: return cr0_;
    case CR0ACK: return cr0ack_;
    case CR1: return cr1_;
    case CR2: return cr2_;
    case GBPA: return config_.gbpa_implemented ? gbpa_ : 0;
    case IRQ_CTRL: return irq_ctrl_;
    case IRQ_CTRLACK: return irq_ctrlack_;
    case GERROR: return gerror_;
    case GERRORN: return gerrorn_;
    case STRTAB_BASE_CFG: return strtab_base_cfg_;
    case CMDQ_PROD: return cmdq_prod_;
    case CMDQ_CONS:
      if (command_mode == CommandMode::one_per_poll) consume_commands(1);
      return cmdq_cons_;
    case EVENTQ_PROD: return eventq_prod_;
    case EVENTQ_CONS: return eventq_cons_;
    default: break;
  }
  operations.push_back("unknown-read " + hex_text(offset));
  return 0;
}

void SimSmmu::write32(uint32_t offset, uint32_t value) {
  switch (offset) {
    case CR0:
      cr0_ = value & 0x1f;
      if (!cr0ack_stuck) cr0ack_ = cr0_ & ~cr0ack_ignored_bits;
      operations.push_back("CR0 " + hex_text(cr0_));
      if (command_mode == CommandMode::immediate) consume_commands(SIZE_MAX);
      return;
    case CR1: cr1_ = value; operations.push_back("CR1 " + hex_text(value)); return;
    case CR2: cr2_ = value; operations.push_back("CR2 " + hex_text(value)); return;
    case GBPA:
      if (!config_.gbpa_implemented) {
        operations.push_back("GBPA ignored");
      } else if ((value & GBPA_UPDATE) != 0 && gbpa_update_stuck) {
        gbpa_ |= GBPA_UPDATE;  // pending for ever: the new value never takes effect
        operations.push_back("GBPA update pending");
      } else if ((value & GBPA_UPDATE) != 0) {
        gbpa_ = value & ~GBPA_UPDATE;  // the update completes at once
        operations.push_back("GBPA " + hex_text(gbpa_));
      }
      return;
    case IRQ_CTRL:
      irq_ctrl_ = value & 7;
      if (!irq_ctrlack_stuck) irq_ctrlack_ = irq_ctrl_;
      operations.push_back("IRQ_CTRL " + hex_text(irq_ctrl_));
      return;
    case GERRORN:
      gerrorn_ = value;
      operations.push_back("GERRORN " + hex_text(value));
      if (command_mode == CommandMode::immediate) consume_commands(SIZE_MAX);
      return;
    case STRTAB_BASE_CFG:
      if ((cr0_ & CR0_SMMUEN) != 0) break;
      strtab_base_cfg_ = value;
      operations.push_back("STRTAB_BASE_CFG " + hex_text(value));
      return;
    case CMDQ_PROD:
      cmdq_prod_ = value;
      if (command_mode == CommandMode::immediate) consume_commands(SIZE_MAX);
      return;
    case CMDQ_CONS:
      if ((cr0_ & CR0_CMDQEN) != 0) break;
      cmdq_cons_ = value;
      return;
    case EVENTQ_PROD:
      if ((cr0_ & CR0_EVENTQEN) != 0) break;
      eventq_prod_ = value;
      return;
    case EVENTQ_CONS: eventq_cons_ = value; return;
    default: break;
  }
  operations.push_back("unknown-write " + hex_text(offset) + " " + hex_text(value));
}

uint64_t SimSmmu::read64(uint32_t offset) {
  switch (offset) {
    case GERROR_IRQ_CFG0: return gerror_irq_cfg0_;
    case STRTAB_BASE: return strtab_base_;
    case CMDQ_BASE: return cmdq_base_;
    case EVENTQ_BASE: return eventq_base_;
    case EVENTQ_IRQ_CFG0: return eventq_irq_cfg0_;
    default: break;
  }
  operations.push_back("unknown-read64 " + hex_text(offset));
  return 0;
}

void SimSmmu::write64(uint32_t offset, uint64_t value) {
  switch (offset) {
    case GERROR_IRQ_CFG0: gerror_irq_cfg0_ = value; return;
    case EVENTQ_IRQ_CFG0: eventq_irq_cfg0_ = value; return;
    case STRTAB_BASE:
      if ((cr0_ & CR0_SMMUEN) != 0) break;
      strtab_base_ = value;
      operations.push_back("STRTAB_BASE " + hex_text(value));
      return;
    case CMDQ_BASE:
      if ((cr0_ & CR0_CMDQEN) != 0) break;
      cmdq_base_ = value;
      operations.push_back("CMDQ_BASE " + hex_text(value));
      return;
    case EVENTQ_BASE:
      if ((cr0_ & CR0_EVENTQEN) != 0) break;
      eventq_base_ = value;
      operations.push_back("EVENTQ_BASE " + hex_text(value));
      return;
    default: break;
  }
  operations.push_back("unknown-write64 " + hex_text(offset) + " " + hex_text(value));
}

void SimSmmu::raise_global_error(uint32_t mask) {
  const uint32_t fresh = mask & ~(gerror_ ^ gerrorn_);
  if (fresh == 0) return;
  gerror_ ^= fresh;
  if ((irq_ctrl_ & IRQ_GERROR) != 0) ++gerror_interrupts_;
}

// ---- Command queue.

void SimSmmu::consume_commands(size_t limit) {
  if ((cr0_ & CR0_CMDQEN) == 0 || command_mode == CommandMode::stuck) return;
  const uint32_t log2 = std::min<uint32_t>(static_cast<uint32_t>(cmdq_base_ & 0x1f), (config_.idr[1] >> 21) & 0x1f);
  const uint32_t entries = 1u << log2, mask = (entries << 1) - 1;
  const uint64_t base = cmdq_base_ & bits(51, 5);
  for (size_t done = 0; done < limit && (cmdq_cons_ & mask) != (cmdq_prod_ & mask); ++done) {
    if (((gerror_ ^ gerrorn_) & GERROR_CMDQ_ERR) != 0) return;  // stopped until acknowledged
    smmu::Command command;
    const uint64_t slot = base + static_cast<uint64_t>(cmdq_cons_ & (entries - 1)) * 16;
    if (!memory_.device_read(slot, &command, sizeof(command)) || !execute(command)) {
      cmdq_cons_ = (cmdq_cons_ & mask) | (1u << 24);  // CMDQ_CONS.ERR = CERROR_ILL
      raise_global_error(GERROR_CMDQ_ERR);
      return;
    }
    cmdq_cons_ = ((cmdq_cons_ & mask) + 1) & mask;
    ++consumed_;
  }
}

std::string SimSmmu::describe_ste(uint32_t stream_id) {
  Config config;
  std::string text;
  const uint8_t error = fetch_config(stream_id, config, &text);
  if (error != 0) return text.empty() ? "error " + hex_text(error) : text;
  switch (config.kind) {
    case Config::Kind::abort: return "abort";
    case Config::Kind::bypass: return "bypass";
    case Config::Kind::stage1: return "stage1 asid " + std::to_string(config.tag);
    case Config::Kind::stage2: return "stage2 vmid " + std::to_string(config.tag);
  }
  return "?";
}

bool SimSmmu::execute(const smmu::Command& command) {
  const uint64_t w0 = command.word[0], w1 = command.word[1];
  const uint8_t opcode = static_cast<uint8_t>(w0 & 0xff);
  if (refused_opcodes.count(opcode) != 0) return false;
  const bool stage1 = (config_.idr[0] & 2) != 0, stage2 = (config_.idr[0] & 1) != 0;
  const uint32_t sid = static_cast<uint32_t>(w0 >> 32);
  switch (opcode) {
    case 0x01: return true;  // CMD_PREFETCH_CONFIG
    case 0x03:               // CMD_CFGI_STE
      config_cache_.erase(sid);
      operations.push_back("CMD_CFGI_STE " + hex_text(sid) + " leaf " + std::to_string(w1 & 1) + " ste " +
                           describe_ste(sid));
      return true;
    case 0x04: {  // CMD_CFGI_STE_RANGE; range 31 is CMD_CFGI_ALL
      const uint32_t range = static_cast<uint32_t>(w1 & 0x1f);
      if (range == 31) {
        config_cache_.clear();
        operations.push_back("CMD_CFGI_ALL");
      } else {
        const uint64_t span = 1ull << (range + 1), first = sid & ~(span - 1);
        for (auto it = config_cache_.begin(); it != config_cache_.end();) {
          it = it->first >= first && it->first < first + span ? config_cache_.erase(it) : std::next(it);
        }
        operations.push_back("CMD_CFGI_STE_RANGE " + hex_text(first) + " span " + std::to_string(span));
      }
      return true;
    }
    case 0x05: case 0x06:  // CMD_CFGI_CD, CMD_CFGI_CD_ALL
      config_cache_.erase(sid);
      operations.push_back("CMD_CFGI_CD " + hex_text(sid));
      return true;
    case 0x10: case 0x11: {  // CMD_TLBI_NH_ALL, CMD_TLBI_NH_ASID
      if (!stage1) return false;
      const uint32_t asid = static_cast<uint32_t>(w0 >> 48);
      for (auto it = tlb_.begin(); it != tlb_.end();) {
        const bool match = (it->first.first >> 16) == 1 && (opcode == 0x10 || (it->first.first & 0xffff) == asid);
        it = match ? tlb_.erase(it) : std::next(it);
      }
      operations.push_back(opcode == 0x10 ? "CMD_TLBI_NH_ALL" : "CMD_TLBI_NH_ASID " + std::to_string(asid));
      return true;
    }
    case 0x28: {  // CMD_TLBI_S12_VMALL
      if (!stage2) return false;
      const uint32_t vmid = static_cast<uint32_t>((w0 >> 32) & 0xffff);
      for (auto it = tlb_.begin(); it != tlb_.end();) {
        it = it->first.first == ((2u << 16) | vmid) ? tlb_.erase(it) : std::next(it);
      }
      operations.push_back("CMD_TLBI_S12_VMALL " + std::to_string(vmid));
      return true;
    }
    case 0x30:  // CMD_TLBI_NSNH_ALL
      tlb_.clear();
      operations.push_back("CMD_TLBI_NSNH_ALL");
      return true;
    case 0x44:  // CMD_RESUME
      operations.push_back("CMD_RESUME " + hex_text(sid) + " stag " + std::to_string(w1 & 0xffff) + " action " +
                           std::to_string((w0 >> 12) & 3));
      return true;
    case 0x46:  // CMD_SYNC
      operations.push_back("CMD_SYNC");
      return true;
    default: return false;
  }
}

// ---- Configuration and translation.

uint8_t SimSmmu::fetch_config(uint32_t stream_id, Config& config, std::string* description) {
  auto say = [&](const char* text, uint8_t event) {
    if (description != nullptr) *description = text;
    return event;
  };
  const uint32_t hw_bits = config_.idr[1] & 0x3f;
  const uint32_t log2size = std::min(strtab_base_cfg_ & 0x3f, hw_bits);
  if (stream_id >= (1ull << log2size)) return say("out-of-range", C_BAD_STREAMID);
  uint64_t ste_address = 0;
  if (((strtab_base_cfg_ >> 16) & 3) == 1) {
    const uint32_t split = (strtab_base_cfg_ >> 6) & 0x1f;
    uint64_t descriptor = 0;
    if (!memory_.device_read((strtab_base_ & bits(51, 6)) + (stream_id >> split) * 8ull, &descriptor, 8)) {
      return say("l1-fetch-abort", F_STE_FETCH);
    }
    const uint32_t span = descriptor & 0x1f;
    if (span == 0) return say("no-l2", C_BAD_STREAMID);
    const uint32_t index = stream_id & ((1u << split) - 1);
    if (span > split + 1 || index >= (1u << (span - 1))) return say("beyond-span", C_BAD_STREAMID);
    ste_address = (descriptor & bits(51, 6)) + index * 64ull;
  } else {
    ste_address = (strtab_base_ & bits(51, 6)) + stream_id * 64ull;
  }
  uint64_t ste[8];
  if (!memory_.device_read(ste_address, ste, sizeof(ste))) return say("ste-fetch-abort", F_STE_FETCH);
  if ((ste[0] & 1) == 0) return say("invalid", C_BAD_STE);
  const uint32_t kind = (ste[0] >> 1) & 7;
  if (kind < 4) {
    config.kind = Config::Kind::abort;
    return 0;
  }
  if (kind == 4) {
    config.kind = Config::Kind::bypass;
    return 0;
  }
  const uint32_t idr0 = config_.idr[0];
  const uint32_t stall_model = (idr0 >> 24) & 3;
  const unsigned oas = oas_bits(config_.idr[5] & 7);
  if (((ste[1] >> 30) & 3) != 0 || ((ste[1] >> 28) & 3) != 0) return say("bad-ste strw/eats", C_BAD_STE);
  if (kind == 5) {
    if ((idr0 & 2) == 0) return say("bad-ste stage 1 not implemented", C_BAD_STE);
    if (((ste[0] >> 4) & 3) != 0 || (ste[0] >> 59) != 0) return say("bad-ste substreams", C_BAD_STE);
    if (stall_model == 1 && ((ste[1] >> 27) & 1) != 0) return say("bad-ste s1stalld", C_BAD_STE);
    uint64_t cd[8];
    if (!memory_.device_read(ste[0] & bits(51, 6), cd, sizeof(cd))) return say("cd-fetch-abort", F_CD_FETCH);
    const uint64_t c0 = cd[0];
    if (((c0 >> 31) & 1) == 0 || ((c0 >> 41) & 1) == 0) return say("bad-cd invalid or not aarch64", C_BAD_CD);
    if (((idr0 >> 26) & 1) != 0 && ((c0 >> 46) & 1) == 0) return say("bad-cd A must be 1", C_BAD_CD);
    if (stall_model == 1 && ((c0 >> 44) & 1) != 0) return say("bad-cd S without stalls", C_BAD_CD);
    if (((c0 >> 42) & 3) != 0) return say("bad-cd HA/HD without HTTU", C_BAD_CD);
    if (((c0 >> 14) & 1) != 0 || ((c0 >> 15) & 1) != 0) return say("bad-cd EPD0/ENDI", C_BAD_CD);
    const uint32_t t0sz = c0 & 0x3f;
    if (t0sz < 16 || t0sz > 39 || ((c0 >> 6) & 3) != 0) return say("bad-cd T0SZ/TG0", C_BAD_CD);
    const unsigned output = std::min(oas_bits((c0 >> 32) & 7), oas);
    const uint64_t ttb0 = cd[1] & bits(51, 4);
    if ((ttb0 >> output) != 0) return say("bad-cd TTB0 beyond IPS", C_BAD_CD);
    config.kind = Config::Kind::stage1;
    config.tag = static_cast<uint32_t>(c0 >> 48);
    config.root = ttb0;
    config.input_bits = 64 - t0sz;
    config.output_bits = output;
    config.record_faults = ((c0 >> 45) & 1) != 0;
    config.stall = ((c0 >> 44) & 1) != 0;
    config.mair = cd[3];
    return 0;
  }
  if (kind == 6) {
    if ((idr0 & 1) == 0) return say("bad-ste stage 2 not implemented", C_BAD_STE);
    const uint64_t w2 = ste[2];
    const uint32_t vtcr = static_cast<uint32_t>((w2 >> 32) & 0x7ffff);
    const uint32_t t0sz = vtcr & 0x3f, sl0 = (vtcr >> 6) & 3, tg = (vtcr >> 14) & 3, ps = (vtcr >> 16) & 7;
    if (((w2 >> 51) & 1) == 0 || ((w2 >> 52) & 1) != 0) return say("bad-ste S2AA64/S2ENDI", C_BAD_STE);
    if (tg != 0) return say("bad-ste S2TG not 4K", C_BAD_STE);
    if (t0sz < std::max(64u - oas, 16u) || t0sz > 39) return say("bad-ste S2T0SZ", C_BAD_STE);
    // Start level from SL0 (4 KiB granule): 2 -> level 0 (T0SZ 16..24), 1 -> level 1 (25..33).
    if (!((sl0 == 2 && t0sz <= 24) || (sl0 == 1 && t0sz >= 25 && t0sz <= 33))) return say("bad-ste S2SL0", C_BAD_STE);
    if (stall_model == 1 && ((w2 >> 57) & 1) != 0) return say("bad-ste S2S without stalls", C_BAD_STE);
    if (((w2 >> 55) & 3) != 0) return say("bad-ste S2HD/S2HA", C_BAD_STE);
    const unsigned output = std::min(oas_bits(ps), oas);
    const uint64_t ttb = ste[3] & bits(51, 4);
    if ((ttb >> output) != 0) return say("bad-ste S2TTB beyond S2PS", C_BAD_STE);
    config.kind = Config::Kind::stage2;
    config.tag = static_cast<uint32_t>(w2 & 0xffff);
    config.root = ttb;
    config.input_bits = 64 - t0sz;
    config.output_bits = output;
    config.record_faults = ((w2 >> 58) & 1) != 0;
    config.stall = ((w2 >> 57) & 1) != 0;
    return 0;
  }
  return say("bad-ste nested not implemented", C_BAD_STE);
}

uint8_t SimSmmu::walk(const Config& config, uint64_t iova, bool write, uint64_t& physical) {
  const bool stage2 = config.kind == Config::Kind::stage2;
  if (config.input_bits < 64 && (iova >> config.input_bits) != 0) return F_TRANSLATION;
  const unsigned levels = (config.input_bits - 12 + 8) / 9;
  uint64_t table = config.root;
  for (unsigned level = 4 - levels; level <= 3; ++level) {
    const unsigned shift = 39 - 9 * level;
    uint64_t descriptor = 0;
    if (!memory_.device_read(table + ((iova >> shift) & 511) * 8, &descriptor, 8)) return F_WALK_EABT;
    if ((descriptor & 1) == 0) return F_TRANSLATION;
    const bool table_or_page = (descriptor & 2) != 0;
    if (level < 3 && table_or_page) {
      table = descriptor & bits(47, 12);
      continue;
    }
    if (level == 0 || (level == 3 && !table_or_page)) return F_TRANSLATION;  // no level-0 blocks; reserved
    const uint64_t block = 1ull << shift;
    const uint64_t output = (descriptor & bits(47, 12) & ~(block - 1)) | (iova & (block - 1));
    if ((descriptor & (1ull << 10)) == 0) return F_ACCESS;
    if (stage2) {
      const uint64_t s2ap = (descriptor >> 6) & 3;  // bit 0 read, bit 1 write
      if ((s2ap & (write ? 2 : 1)) == 0) return F_PERMISSION;
      last_attributes_ = static_cast<uint8_t>((descriptor >> 2) & 0xf);
    } else {
      // Device transactions are unprivileged: AP[1] must grant EL0 access; AP[2] is read-only.
      if (((descriptor >> 6) & 1) == 0 || (write && ((descriptor >> 7) & 1) != 0)) return F_PERMISSION;
      last_attributes_ = static_cast<uint8_t>(config.mair >> (8 * ((descriptor >> 2) & 7)));
    }
    if (config.output_bits < 64 && (output >> config.output_bits) != 0) return F_ADDR_SIZE;
    physical = output;
    return 0;
  }
  return F_TRANSLATION;
}

void SimSmmu::record_event(uint8_t type, uint32_t stream_id, uint64_t address, bool write, bool stage2, bool stall) {
  smmu::EventRecord record;
  record.word[0] = type | static_cast<uint64_t>(stream_id) << 32;
  record.word[1] = (write ? 0 : 1ull << 35) | (stage2 ? 1ull << 39 : 0);
  if (stall) record.word[1] |= (1ull << 31) | next_stall_tag_++;
  record.word[2] = address;
  inject_event(record);
}

bool SimSmmu::inject_event(const smmu::EventRecord& record) {
  if ((cr0_ & CR0_EVENTQEN) == 0) return false;
  const uint32_t log2 = std::min<uint32_t>(static_cast<uint32_t>(eventq_base_ & 0x1f), (config_.idr[1] >> 16) & 0x1f);
  const uint32_t entries = 1u << log2, mask = (entries << 1) - 1;
  if (((eventq_prod_ ^ eventq_cons_) & mask) == entries) {
    // Full: the record is lost and PROD.OVFLG flips to tell the driver.
    if (((eventq_prod_ ^ eventq_cons_) & OVFLG) == 0) eventq_prod_ ^= OVFLG;
    return false;
  }
  const uint64_t slot = (eventq_base_ & bits(51, 5)) + static_cast<uint64_t>(eventq_prod_ & (entries - 1)) * 32;
  if (!memory_.device_write(slot, &record, sizeof(record))) return false;
  eventq_prod_ = (eventq_prod_ & OVFLG) | (((eventq_prod_ & mask) + 1) & mask);
  if ((irq_ctrl_ & IRQ_EVENTQ) != 0) ++eventq_interrupts_;
  return true;
}

DmaOutcome SimSmmu::dma(uint32_t stream_id, uint64_t iova, bool write) {
  DmaOutcome outcome;
  if ((cr0_ & CR0_SMMUEN) == 0) {
    const bool abort = config_.gbpa_implemented && (gbpa_ & GBPA_ABORT) != 0;
    outcome.kind = abort ? DmaOutcome::Kind::aborted : DmaOutcome::Kind::bypassed;
    outcome.physical = abort ? 0 : iova;
    return outcome;
  }
  Config config;
  if (auto cached = config_cache_.find(stream_id); cached != config_cache_.end()) {
    config = cached->second;
  } else if (const uint8_t error = fetch_config(stream_id, config); error != 0) {
    const bool recorded = error != C_BAD_STREAMID || (cr2_ & 2) != 0 || stream_id < (1ull << (config_.idr[1] & 0x3f));
    if (recorded) record_event(error, stream_id, iova, write, false, false);
    outcome.event = recorded ? error : 0;
    outcome.kind = DmaOutcome::Kind::aborted;
    return outcome;
  } else {
    config_cache_[stream_id] = config;
  }
  if (config.kind == Config::Kind::abort) return outcome;
  if (config.kind == Config::Kind::bypass) {
    outcome.kind = DmaOutcome::Kind::bypassed;
    outcome.physical = iova;
    return outcome;
  }
  const uint32_t tag = ((config.kind == Config::Kind::stage2 ? 2u : 1u) << 16) | config.tag;
  const uint64_t page = iova & ~0xfffull;
  // A TLB entry holds the page and whether it may be written (bit 0).
  if (auto hit = tlb_.find({tag, page}); hit != tlb_.end() && (!write || (hit->second & 1) != 0)) {
    outcome.kind = DmaOutcome::Kind::translated;
    outcome.physical = (hit->second & ~0xfffull) | (iova & 0xfff);
    return outcome;
  }
  uint64_t physical = 0;
  const uint8_t fault = walk(config, iova, write, physical);
  if (fault == 0) {
    uint64_t ignored = 0;
    tlb_[{tag, page}] = (physical & ~0xfffull) | (write || walk(config, iova, true, ignored) == 0 ? 1 : 0);
    outcome.kind = DmaOutcome::Kind::translated;
    outcome.physical = physical;
    outcome.attributes = last_attributes_;
    return outcome;
  }
  outcome.kind = config.stall ? DmaOutcome::Kind::stalled : DmaOutcome::Kind::faulted;
  if (config.record_faults || config.stall) {
    record_event(fault, stream_id, iova, write, config.kind == Config::Kind::stage2, config.stall);
    outcome.event = fault;
  }
  return outcome;
}

SimSmmu::Route SimSmmu::route(uint32_t stream_id) {
  if ((cr0_ & CR0_SMMUEN) == 0) {
    return config_.gbpa_implemented && (gbpa_ & GBPA_ABORT) != 0 ? Route::aborts : Route::bypasses;
  }
  Config config;
  if (fetch_config(stream_id, config) != 0 || config.kind == Config::Kind::abort) return Route::aborts;
  return config.kind == Config::Kind::bypass ? Route::bypasses : Route::translates;
}

}  // namespace bulkhead::sim
