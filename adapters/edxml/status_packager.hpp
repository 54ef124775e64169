#pragma once

#include <map>
#include <string>

#include "engine/directory.hpp"
#include "engine/ports.hpp"
#include "signing/crypto.hpp"

namespace lienthong {

// StatusPackager for the agencies hosted here: a QCVN 102:2016 status packet (From the agency,
// ResponseFor the document it answers, StatusCode, Description, Timestamp in local time), signed
// with the agency's organisation key as its organisation's signature.
class SignedStatusPackager final : public StatusPackager {
 public:
  // `keys`: the organisation keys of the agencies hosted here, by code.
  SignedStatusPackager(const Directory& directory, int utc_offset_seconds,
                       const std::map<std::string, SigningKey>& keys)
      : directory_(directory), utc_offset_seconds_(utc_offset_seconds), keys_(keys) {}

  Expected<std::string> status_packet(const std::string& from_agency, const Package& answered,
                                      const std::string& code, std::int64_t at) const override;
  bool signs_for(const std::string& agency) const override { return keys_.count(agency) > 0; }

 private:
  const Directory& directory_;
  int utc_offset_seconds_;
  const std::map<std::string, SigningKey>& keys_;
};

}  // namespace lienthong
