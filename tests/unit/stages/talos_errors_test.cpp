#include "stages/talos_errors.hpp"

#include <gtest/gtest.h>

using namespace fluxboot::stages;

TEST(TalosErrors, CertificateRequiredIsFinalNotTransient) {
  std::string text = "rpc error: code = Unavailable desc = connection error: desc = \"transport: authentication handshake failed: remote error: tls: certificate required\"";
  EXPECT_TRUE(is_certificate_required(text));
  EXPECT_FALSE(is_transient_talos_error(text));
}

TEST(TalosErrors, ClassifiesBootstrapReplies) {
  EXPECT_TRUE(is_already_exists("rpc error: code = AlreadyExists desc = etcd data directory is not empty"));
  EXPECT_TRUE(is_transient_talos_error("dial tcp 10.0.0.1:50000: connect: connection refused"));
  EXPECT_TRUE(is_transient_talos_error("rpc error: code = DeadlineExceeded desc = context deadline exceeded"));
  EXPECT_FALSE(is_transient_talos_error("rpc error: code = PermissionDenied desc = not allowed"));
}

