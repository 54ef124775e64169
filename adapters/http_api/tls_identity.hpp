#pragma once

// What both ends of node-to-node HTTPS set up alike. Included only by the translation units that
// already use Asio's SSL (server.cpp, peer/peer_client.cpp).

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <stdexcept>
#include <string>
#include <vector>

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

// Checks the other end's certificate against revocation lists (PEM files): one a list revokes is
// refused; one whose issuer has no list here passes, since only some CAs publish one. Call after
// the verify mode is set. Throws std::runtime_error naming the file (startup).
inline void add_revocation_lists(boost::asio::ssl::context& ctx,
                                 const std::vector<std::string>& crl_files,
                                 const std::string& who) {
  if (crl_files.empty()) return;
  X509_STORE* store = SSL_CTX_get_cert_store(ctx.native_handle());
  for (const std::string& file : crl_files) {
    BIO* bio = BIO_new_file(file.c_str(), "r");
    if (!bio) throw std::runtime_error(who + ": cannot read the revocation list " + file);
    int added = 0;
    while (X509_CRL* crl = PEM_read_bio_X509_CRL(bio, nullptr, nullptr, nullptr)) {
      X509_STORE_add_crl(store, crl);
      X509_CRL_free(crl);
      ++added;
    }
    BIO_free(bio);
    ERR_clear_error();
    if (added == 0) {
      throw std::runtime_error(who + ": " + file + " holds no PEM revocation list");
    }
  }
  X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  SSL_CTX_set_verify(ctx.native_handle(), SSL_CTX_get_verify_mode(ctx.native_handle()),
                     [](int ok, X509_STORE_CTX* x) -> int {
                       const int e = X509_STORE_CTX_get_error(x);
                       if (!ok && (e == X509_V_ERR_UNABLE_TO_GET_CRL ||
                                   e == X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER)) {
                         return 1;
                       }
                       return ok;
                     });
}

}  // namespace lienthong
