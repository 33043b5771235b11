# Where the image is linked: DRAM base 0x40000000 + text_offset 0x200000 (entry.S).
set(BULKHEAD_LINK_ADDRESS 0x40200000)
