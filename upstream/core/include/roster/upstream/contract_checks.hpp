// Consumer contracts checked against the registry: each contract against the provider versions
// its range accepts, can-i-deploy in both directions, and the provider × consumer matrix.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "roster/governance/finding.hpp"
#include "roster/upstream/registry.hpp"

namespace roster::upstream {

struct Verification {
  std::string consumer;           // consumer@version
  std::string provider;           // provider@version
  bool ok = false;
  std::string message;            // one line: what was checked and the outcome
  std::vector<governance::Finding> findings;
};

// `contract` against every live provider version its range accepts, ascending.
std::vector<Verification> verify_contract(const Registry& registry, const wire::Contract& contract);

struct DeployAnswer {
  bool deployable = true;
  std::vector<Verification> as_provider, as_consumer;
};
// nullopt when name@version is not registered. As a provider: every consumer contract whose range
// accepts the version must pass against it. As a consumer: each of its own contracts must pass
// against the provider version its range resolves to.
std::optional<DeployAnswer> can_i_deploy(const Registry& registry, std::string_view name, std::string_view version);

// What moving `name` from `from` to `to` (registered) does to its consumers' contracts: every
// contract of a live consumer whose range accepts either version, verified against `to` (a
// contract whose range does not accept `to` fails with that message). Empty when `to` is not
// registered.
std::vector<Verification> contracts_after_upgrade(const Registry& registry, std::string_view name, std::string_view from,
                                                  std::string_view to);

// Every provider version × every contract against that provider whose range accepts it.
std::vector<Verification> contract_matrix(const Registry& registry, std::string_view provider);

}  // namespace roster::upstream
