#include "core/lib/psci.hpp"

namespace bulkhead::psci {

const char* result_name(int64_t result) {
  switch (result) {
    case success: return "SUCCESS";
    case not_supported: return "NOT_SUPPORTED";
    case invalid_parameters: return "INVALID_PARAMETERS";
    case denied: return "DENIED";
    case already_on: return "ALREADY_ON";
    case on_pending: return "ON_PENDING";
    case internal_failure: return "INTERNAL_FAILURE";
    case not_present: return "NOT_PRESENT";
    case disabled: return "DISABLED";
    case invalid_address: return "INVALID_ADDRESS";
    default: return "UNKNOWN";
  }
}

}  // namespace bulkhead::psci
