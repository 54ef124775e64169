#pragma once

// What both ends of node-to-node HTTPS set up alike. Included only by the translation units that
// already use Asio's SSL (server.cpp, peer/peer_client.cpp).

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <stdexcept>
#include <string>

namespace lienthong {

// TLS 1.2 or later, no renegotiation, and this end's certificate (its chain may follow it in the
// file) and private key, both PEM. Throws std::runtime_error "`who`: cannot use the certificate
// FILE: reason" (startup).
inline void set_tls_identity(boost::asio::ssl::context& ctx, const std::string& cert_file,
                             const std::string& key_file, const std::string& who) {
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.native_handle(), SSL_OP_NO_RENEGOTIATION);
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(cert_file, ec);
  if (ec) {
    throw std::runtime_error(who + ": cannot use the certificate " + cert_file + ": " +
                             ec.message());
  }
  ctx.use_private_key_file(key_file, boost::asio::ssl::context::pem, ec);
  if (ec) {
    throw std::runtime_error(who + ": cannot use the private key " + key_file + ": " +
                             ec.message());
  }
}

}  // namespace lienthong
