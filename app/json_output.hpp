#pragma once

#include <boost/json/value.hpp>

#include "engine/package.hpp"
#include "signing/verdict.hpp"

namespace lienthong::cli {

boost::json::value to_json(const Verdict& verdict);
boost::json::value to_json(const Package& package);

}  // namespace lienthong::cli
