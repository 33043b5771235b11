// gic-registers: the distributor and redistributor registers as the GICv3 architecture
// (IHI 0069) defines them for a guest with affinity routing and one security state:
// the partition's own SPI (the virtual UART's, INTID 33) behaves, SPIs it does not own
// (34: another partition's RTC in the suite config; 40: nobody's) read as zero and ignore
// writes, and a level-triggered SPI follows its line.
#include "console.hpp"
#include "gic.hpp"
#include "smp.hpp"
#include "tests.hpp"

namespace probe {
namespace {

constexpr uint64_t d = gic::distributor;
constexpr uint32_t own_spi = gic::uart_spi;  // register 1 (INTIDs 32-63), bit 1
constexpr uint32_t own_bit = 1u << (own_spi % 32);
constexpr uint32_t unowned_bits = (1u << (34 % 32)) | (1u << (40 % 32));
constexpr uint64_t uart_imsc = 0x09000000 + 0x38;
constexpr uint32_t uart_txim = 1u << 5;

uint8_t distributor_priority_mask = 0;  // what check_spis() read back after writing 0xff

uint64_t bit_register(uint64_t base, uint32_t intid) { return d + base + uint64_t{intid / 32} * 4; }

void uart_hook(uint32_t) { write32(uart_imsc, 0); }  // the TX interrupt's line drops

// GICD_CTLR, GICD_TYPER and the identification registers.
bool check_identification(uint32_t vcpus) {
  const uint32_t ctlr = read32(d + gic::gicd_ctlr);
  if (!expect_hex("GICD_CTLR ARE|DS (RAO with one security state)", ctlr & (gic::ctlr_are | gic::ctlr_ds),
                  gic::ctlr_are | gic::ctlr_ds)) {
    return false;
  }
  if (!expect_hex("GICD_CTLR.RWP", ctlr & gic::ctlr_rwp, 0)) return false;
  write32(d + gic::gicd_ctlr, 0);
  const uint32_t cleared = read32(d + gic::gicd_ctlr);
  write32(d + gic::gicd_ctlr, gic::ctlr_enable_grp0 | gic::ctlr_enable_grp1);
  const uint32_t enabled = read32(d + gic::gicd_ctlr);
  write32(d + gic::gicd_ctlr, ctlr & (gic::ctlr_enable_grp0 | gic::ctlr_enable_grp1));
  if (!expect_hex("GICD_CTLR after writing 0", cleared & 0xff, gic::ctlr_are | gic::ctlr_ds)) return false;
  if (!expect_hex("GICD_CTLR after writing EnableGrp0|EnableGrp1", enabled & 0xff, 0x53)) return false;

  const uint32_t typer = read32(d + gic::gicd_typer);
  const uint32_t it_lines = typer & 0x1f;
  if (32 * (it_lines + 1) - 1 < own_spi) {
    return expect_hex("GICD_TYPER.ITLinesNumber covering SPI 33 (>= 1)", it_lines, 1);
  }
  if (!expect_hex("GICD_TYPER.SecurityExtn (RAZ when DS = 1)", (typer >> 10) & 1, 0)) return false;
  const uint64_t rd_typer = read64(gic::rd_base(0) + gic::gicr_typer);
  if (!expect_hex("GICD_TYPER.LPIS = GICR_TYPER.PLPIS", (typer >> 17) & 1, rd_typer & 1)) return false;
  if (!expect_hex("GICD_PIDR2.ArchRev", (read32(d + gic::pidr2) >> 4) & 0xf, 3)) return false;
  if (!expect_hex("GICR_PIDR2.ArchRev", (read32(gic::rd_base(0) + gic::pidr2) >> 4) & 0xf, 3)) return false;

  for (uint32_t v = 0; v < vcpus; ++v) {
    const uint64_t t = read64(gic::rd_base(v) + gic::gicr_typer);
    if (!expect_hex("GICR_TYPER.Last", (t >> 4) & 1, v + 1 == vcpus ? 1 : 0)) return false;
    if (!expect_hex("GICR_TYPER.Processor_Number", (t >> 8) & 0xffff, v)) return false;
    if (!expect_hex("GICR_TYPER.Affinity_Value", t >> 32, v)) return false;
    if (!expect_hex("GICR_TYPER low word by a 32-bit read", read32(gic::rd_base(v) + gic::gicr_typer), t & 0xffffffff)) {
      return false;
    }
  }
  return true;
}

// The 1-bit set/clear pairs, priority, configuration and routing of SPIs.
bool check_spis() {
  write32(bit_register(gic::icenabler, own_spi), own_bit);
  if (!expect_hex("GICD_ISENABLER1 after ICENABLER1", read32(bit_register(gic::isenabler, own_spi)) & own_bit, 0)) return false;
  write32(bit_register(gic::isenabler, own_spi), own_bit | unowned_bits);
  const uint32_t set = read32(bit_register(gic::isenabler, own_spi));
  const uint32_t set_seen_by_clear = read32(bit_register(gic::icenabler, own_spi));
  write32(bit_register(gic::icenabler, own_spi), own_bit);
  if (!expect_hex("GICD_ISENABLER1 after setting SPIs 33, 34, 40", set & (own_bit | unowned_bits), own_bit)) return false;
  if (!expect_hex("GICD_ICENABLER1 reading the same enables", set_seen_by_clear & (own_bit | unowned_bits), own_bit)) {
    return false;
  }
  if (!expect_hex("GICD_ISENABLER1 after ICENABLER1 again", read32(bit_register(gic::isenabler, own_spi)) & own_bit, 0)) {
    return false;
  }
  if (!expect_hex("GICD_IGROUPR1 SPI 33 (Group 1 at reset)", read32(bit_register(gic::igroupr, own_spi)) & own_bit, own_bit)) {
    return false;
  }

  // Pending and active, set and cleared (the SPI stays disabled: nothing is delivered).
  write32(bit_register(gic::ispendr, own_spi), own_bit | unowned_bits);
  const uint32_t pending = read32(bit_register(gic::ispendr, own_spi));
  const uint32_t pending_seen_by_clear = read32(bit_register(gic::icpendr, own_spi));
  write32(bit_register(gic::icpendr, own_spi), own_bit);
  if (!expect_hex("GICD_ISPENDR1 after ISPENDR1", pending & (own_bit | unowned_bits), own_bit)) return false;
  if (!expect_hex("GICD_ICPENDR1 reading the pending state", pending_seen_by_clear & own_bit, own_bit)) return false;
  if (!expect_hex("GICD_ISPENDR1 after ICPENDR1", read32(bit_register(gic::ispendr, own_spi)) & own_bit, 0)) return false;
  write32(bit_register(gic::isactiver, own_spi), own_bit);
  const uint32_t active = read32(bit_register(gic::icactiver, own_spi));
  write32(bit_register(gic::icactiver, own_spi), own_bit);
  if (!expect_hex("GICD_ICACTIVER1 after ISACTIVER1", active & own_bit, own_bit)) return false;
  if (!expect_hex("GICD_ISACTIVER1 after ICACTIVER1", read32(bit_register(gic::isactiver, own_spi)) & own_bit, 0)) return false;

  // IPRIORITYR bytes: the implemented bits are the upper ones, at least 4; the rest RAZ.
  write8(d + gic::ipriorityr + own_spi, 0xff);
  const uint8_t mask = read8(d + gic::ipriorityr + own_spi);
  const bool contiguous = mask == 0xf0 || mask == 0xf8 || mask == 0xfc || mask == 0xfe || mask == 0xff;
  if (!contiguous) return expect_hex("GICD_IPRIORITYR byte after writing 0xff (upper bits only)", mask, 0xf8);
  distributor_priority_mask = mask;
  write8(d + gic::ipriorityr + own_spi, 0xa5);
  if (!expect_hex("GICD_IPRIORITYR byte after writing 0xa5", read8(d + gic::ipriorityr + own_spi), 0xa5 & mask)) return false;
  write8(d + gic::ipriorityr + 34, 0xff);
  if (!expect_hex("GICD_IPRIORITYR8 word (only SPI 33's byte)", read32(d + gic::ipriorityr + 32), uint32_t{0xa5u & mask} << 8)) {
    return false;
  }
  write8(d + gic::ipriorityr + own_spi, 0);
  write8(d + gic::ipriorityr + 5, 0xff);  // SGIs' bytes in the distributor: RAZ/WI with ARE
  if (!expect_hex("GICD_IPRIORITYR byte of SGI 5 (RAZ/WI)", read8(d + gic::ipriorityr + 5), 0)) return false;

  // ICFGR: SPI 33 is level at reset and can be made edge; an unowned SPI stays 0.
  const uint64_t icfgr2 = d + gic::icfgr + 8;  // INTIDs 32..47, 2 bits each
  if (!expect_hex("GICD_ICFGR2 at reset (SPI 33 level)", read32(icfgr2) & 0xc, 0)) return false;
  write32(icfgr2, (2u << 2) | (2u << 4));
  const uint32_t edge = read32(icfgr2);
  write32(icfgr2, 0);
  if (!expect_hex("GICD_ICFGR2 after making SPIs 33 and 34 edge", edge, 2u << 2)) return false;

  // IROUTER: 64-bit, RES0 bits [63:40] and [30:24] read as zero, IRM kept.
  const uint64_t router = d + gic::gicd_irouter + uint64_t{8} * own_spi;
  if (!expect_hex("GICD_IROUTER33 at reset", read64(router), 0)) return false;
  write64(router, 1);
  const uint64_t to_vcpu1 = read64(router);
  write64(router, 1ull << 31);
  const uint64_t irm = read64(router);
  write64(router, 0xffffffff7f000000ull);
  const uint64_t reserved = read64(router);
  const uint32_t upper_word = read32(router + 4);
  write64(router, 0);
  if (!expect_hex("GICD_IROUTER33 after writing Aff0 = 1", to_vcpu1, 1)) return false;
  if (!expect_hex("GICD_IROUTER33 after writing IRM", irm, 1ull << 31)) return false;
  if (!expect_hex("GICD_IROUTER33 after writing RES0 bits", reserved, 0xff00000000ull)) return false;
  if (!expect_hex("GICD_IROUTER33 upper word by a 32-bit read", upper_word, 0xff)) return false;
  write64(d + gic::gicd_irouter + uint64_t{8} * 34, 1);
  return expect_hex("GICD_IROUTER34 (unowned) after a write", read64(d + gic::gicd_irouter + uint64_t{8} * 34), 0);
}

// The vCPU's redistributor: SGI/PPI configuration, priorities, GICR_WAKER.
bool check_redistributor() {
  const uint64_t rd = gic::rd_base(0);
  const uint64_t sgi = gic::sgi_frame(0);
  if (!expect_hex("GICR_ICFGR0 (SGIs edge, read-only)", read32(sgi + gic::icfgr), 0xaaaaaaaa)) return false;
  write32(sgi + gic::icfgr, 0);
  if (!expect_hex("GICR_ICFGR0 after writing 0", read32(sgi + gic::icfgr), 0xaaaaaaaa)) return false;
  if (!expect_hex("GICR_ICFGR1 PPI 27 (level)", (read32(sgi + gic::icfgr + 4) >> 22) & 3, 0)) return false;
  write8(sgi + gic::ipriorityr + 9, 0xff);
  const uint8_t mask = read8(sgi + gic::ipriorityr + 9);
  write8(sgi + gic::ipriorityr + 9, 0);
  if (!expect_hex("GICR_IPRIORITYR byte after writing 0xff (as GICD's)", mask, distributor_priority_mask)) return false;
  // The distributor's ISENABLER0 (SGIs, PPIs) is RAZ/WI with affinity routing.
  const uint32_t enabled = read32(sgi + gic::isenabler);
  write32(d + gic::isenabler, 0xffffffff);
  if (!expect_hex("GICD_ISENABLER0 (RAZ/WI with ARE)", read32(d + gic::isenabler), 0)) return false;
  if (!expect_hex("GICR_ISENABLER0 after writing GICD_ISENABLER0", read32(sgi + gic::isenabler), enabled)) return false;

  if (!expect_hex("GICR_WAKER awake", read32(rd + gic::gicr_waker) & 6, 0)) return false;
  write32(rd + gic::gicr_waker, gic::waker_processor_sleep);
  const uint32_t asleep = read32(rd + gic::gicr_waker);
  write32(rd + gic::gicr_waker, 0);
  const uint32_t awake = read32(rd + gic::gicr_waker);
  if (!expect_hex("GICR_WAKER after ProcessorSleep = 1", asleep & 6, 6)) return false;
  return expect_hex("GICR_WAKER after ProcessorSleep = 0", awake & 6, 0);
}

// A level-triggered virtual SPI: the UART's TX interrupt (IMSC.TXIM with an empty FIFO)
// holds SPI 33 pending; ICPENDR cannot clear it; enabled, it is delivered.
bool check_level_spi() {
  gic::IrqRecord& r = gic::record(0);
  write32(uart_imsc, uart_txim);
  const uint32_t pending = read32(bit_register(gic::ispendr, own_spi));
  write32(bit_register(gic::icpendr, own_spi), own_bit);
  const uint32_t still_pending = read32(bit_register(gic::ispendr, own_spi));
  const uint32_t before = r.count[own_spi];
  gic::set_hook(own_spi, uart_hook);
  write8(d + gic::ipriorityr + own_spi, 0xa0);
  write32(bit_register(gic::isenabler, own_spi), own_bit);
  irqs_on();
  const bool taken = wait_change(r.count[own_spi], before, 200000);
  irqs_off();
  write32(uart_imsc, 0);
  write32(bit_register(gic::icenabler, own_spi), own_bit);
  const uint32_t after = read32(bit_register(gic::ispendr, own_spi));
  write8(d + gic::ipriorityr + own_spi, 0);
  if (!expect_hex("GICD_ISPENDR1 with the UART line high", pending & own_bit, own_bit)) return false;
  if (!expect_hex("GICD_ISPENDR1 after ICPENDR1 with the line high", still_pending & own_bit, own_bit)) return false;
  if (!expect_hex("SPI 33 delivered once enabled", taken ? 1 : 0, 1)) return false;
  return expect_hex("GICD_ISPENDR1 after the line dropped", after & own_bit, 0);
}

// GICD_IROUTER decides which vCPU takes an SPI: SPI 33 routed to vCPU 1.
bool check_routing() {
  if (!smp::ensure_online(1)) return false;
  gic::IrqRecord& mine = gic::record(0);
  gic::IrqRecord& other = gic::record(1);
  const uint64_t router = d + gic::gicd_irouter + uint64_t{8} * own_spi;
  const uint32_t mine_before = mine.count[own_spi];
  const uint32_t other_before = other.count[own_spi];
  write64(router, 1);
  write8(d + gic::ipriorityr + own_spi, 0xa0);
  write32(bit_register(gic::isenabler, own_spi), own_bit);
  irqs_on();
  write32(uart_imsc, uart_txim);
  const bool taken = wait_change(other.count[own_spi], other_before, 200000);
  irqs_off();
  write32(uart_imsc, 0);
  write32(bit_register(gic::icenabler, own_spi), own_bit);
  write64(router, 0);
  write8(d + gic::ipriorityr + own_spi, 0);
  if (!expect_hex("SPI 33 routed to vcpu 1 taken there", taken ? 1 : 0, 1)) return false;
  return expect_hex("SPI 33 routed to vcpu 1 taken by vcpu 0", since(mine.count[own_spi], mine_before), 0);
}

}  // namespace

void test_gic_registers() {
  const uint32_t vcpus = settings().guest.vcpu_count;
  gic::init_this_cpu();
  irqs_off();
  if (!check_identification(vcpus) || !check_spis() || !check_redistributor() || !check_level_spi()) return;
  if (vcpus > 1 && !check_routing()) return;
  begin_pass();
  put_text("ctlr typer pidr2 enable/pending/active pairs priority icfgr irouter gicr_typer(");
  put_decimal(vcpus);
  put_text(") waker, unowned spis 34 40 raz/wi, level spi 33");
  if (vcpus > 1) put_text(" routed to vcpu 1");
  end_line();
}

}  // namespace probe
