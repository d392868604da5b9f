#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fluxboot/process.hpp"
#include "fluxboot/redact.hpp"

namespace fluxboot::process {
namespace {

TEST(ShellQuote, LeavesSafeWordsUnquoted) {
  EXPECT_EQ(shell_quote("kubectl"), "kubectl");
  EXPECT_EQ(shell_quote("--namespace=flux-system"), "--namespace=flux-system");
  EXPECT_EQ(shell_quote("/etc/talos/config.yaml"), "/etc/talos/config.yaml");
  EXPECT_EQ(shell_quote("user@host:1,2+3%"), "user@host:1,2+3%");
}

TEST(ShellQuote, QuotesEmptyWord) { EXPECT_EQ(shell_quote(""), "''"); }

TEST(ShellQuote, QuotesWordsWithShellMetacharacters) {
  EXPECT_EQ(shell_quote("a b"), "'a b'");
  EXPECT_EQ(shell_quote("$HOME"), "'$HOME'");
  EXPECT_EQ(shell_quote("*.yaml"), "'*.yaml'");
  EXPECT_EQ(shell_quote("a;b"), "'a;b'");
  EXPECT_EQ(shell_quote("line1\nline2"), "'line1\nline2'");
  EXPECT_EQ(shell_quote("\"x\""), "'\"x\"'");
  EXPECT_EQ(shell_quote("caf\xc3\xa9"), "'caf\xc3\xa9'");
}

TEST(ShellQuote, EscapesSingleQuotes) {
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote("'"), "''\\'''");
}

TEST(FormatArgv, JoinsQuotedWords) {
  EXPECT_EQ(format_argv({"kubectl", "apply", "-f", "my file.yaml"}), "kubectl apply -f 'my file.yaml'");
  EXPECT_EQ(format_argv({}), "");
  EXPECT_EQ(format_argv({"echo", ""}), "echo ''");
}

TEST(FormatArgv, MasksSecretsWhenGivenRedactor) {
  Redactor redactor;
  redactor.add("S3cr3t-value");
  const std::vector<std::string> argv = {"kubectl", "create", "secret", "generic", "db",
                                         "--from-literal=password=S3cr3t-value"};
  const std::string line = format_argv(argv, &redactor);
  EXPECT_EQ(line.find("S3cr3t-value"), std::string::npos) << line;
  EXPECT_EQ(line, "kubectl create secret generic db '--from-literal=password=<redacted>'");
  EXPECT_NE(format_argv(argv).find("S3cr3t-value"), std::string::npos);
}

TEST(FormatArgv, MasksSecretsContainingQuotes) {
  Redactor redactor;
  redactor.add("it's a secret");
  const std::string line = format_argv({"tool", "--token=it's a secret"}, &redactor);
  EXPECT_EQ(line.find("secret"), std::string::npos) << line;
  EXPECT_NE(line.find("<redacted>"), std::string::npos) << line;
}

}  // namespace
}  // namespace fluxboot::process
