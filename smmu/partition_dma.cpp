#include "smmu/partition_dma.hpp"

namespace bulkhead::smmu {

bool connect_partition_dma(Driver& driver, ContextId context, const FunctionStreams* functions, size_t count,
                           BusMastering& bus_mastering) {
  if (!driver.attach_functions(context, functions, count)) {
    driver.detach_context(context);
    return false;
  }
  for (size_t f = 0; f < count; ++f) bus_mastering.permit(f);
  return true;
}

bool disconnect_partition_dma(Driver& driver, ContextId context, size_t function_count, BusMastering& bus_mastering) {
  for (size_t f = 0; f < function_count; ++f) bus_mastering.disable(f);
  return driver.detach_context(context);
}

}  // namespace bulkhead::smmu
