#pragma once

namespace bulkhead {
constexpr const char* version = "0.1.0";
}
