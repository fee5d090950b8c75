#include "roster/upstream/contract_checks.hpp"

#include "roster/governance/json_document.hpp"
#include "roster/governance/pact.hpp"
#include "roster/semver.hpp"

namespace roster::upstream {

namespace {

std::string at(std::string_view name, std::string_view version) { return std::string(name) + "@" + std::string(version); }

std::string consumer_of(const wire::Contract& c) { return at(c.consumer()->string_view(), c.consumer_version()->string_view()); }

Verification verify_against(const wire::Contract& contract, const wire::ServiceVersion& provider) {
  Verification out{consumer_of(contract), at(provider.name()->string_view(), provider.version()->string_view()), false, "", {}};
  if (!provider.api_schema() || provider.api_schema()->format() != wire::SchemaFormat::OpenApi) {
    out.message = out.provider + " has no OpenAPI document to verify " + out.consumer + "'s contract against";
    return out;
  }
  auto unreadable = [&] {
    out.message = out.consumer + "'s pact cannot be read";  // ruled out when it was registered
    return out;
  };
  auto pact_doc = governance::parse_json(contract.pact()->string_view());
  auto openapi = governance::parse_json(provider.api_schema()->document()->string_view());
  if (!pact_doc || !openapi) return unreadable();
  auto pact = governance::parse_pact(*pact_doc);
  if (!pact) return unreadable();
  auto result = governance::verify_pact(*pact, *openapi);
  out.ok = result.ok();
  out.findings = std::move(result.failures);
  out.message = out.consumer + "'s contract (" + std::to_string(result.interactions_checked) + " interaction(s)) " +
                (out.ok ? "holds against " : "fails against ") + out.provider +
                (out.ok ? "" : ": " + std::to_string(out.findings.size()) + " problem(s)");
  return out;
}

bool accepts(const wire::Contract& contract, std::string_view version) {
  auto range = semver::Range::parse(contract.provider_range()->string_view());
  auto parsed = semver::Version::parse(version);
  return range && parsed && range->satisfies(*parsed);
}
bool accepts(const wire::Contract& contract, const wire::ServiceVersion& provider) {
  return accepts(contract, provider.version()->string_view());
}

bool live(const wire::ServiceVersion& v) { return v.stage() != wire::LifecycleStage::Retired; }

bool consumer_retired(const Registry& registry, const wire::Contract& c) {
  auto* consumer = registry.version(c.consumer()->string_view(), c.consumer_version()->string_view());
  return consumer && !live(*consumer);
}

}  // namespace

std::vector<Verification> verify_contract(const Registry& registry, const wire::Contract& contract) {
  std::vector<Verification> out;
  for (auto* provider : registry.versions(contract.provider()->string_view()))
    if (live(*provider) && accepts(contract, *provider)) out.push_back(verify_against(contract, *provider));
  return out;
}

std::vector<Verification> contracts_after_upgrade(const Registry& registry, std::string_view name, std::string_view from,
                                                  std::string_view to) {
  std::vector<Verification> out;
  const auto* target = registry.version(name, to);
  if (!target) return out;
  const auto to_version = semver::Version::parse(to), from_version = semver::Version::parse(from);
  for (auto* contract : registry.contracts(std::nullopt, name)) {
    if (consumer_retired(registry, *contract)) continue;
    const auto range = semver::Range::parse(contract->provider_range()->string_view());
    if (!range) continue;
    const bool takes_to = to_version && range->satisfies(*to_version);
    if (!takes_to && !(from_version && range->satisfies(*from_version))) continue;
    if (takes_to) {
      out.push_back(verify_against(*contract, *target));
    } else {
      std::string consumer = consumer_of(*contract);
      std::string message = consumer + "'s contract accepts " + contract->provider()->str() + " " +
                            contract->provider_range()->str() + ", which " + std::string(to) + " is not in";
      out.push_back({std::move(consumer), at(name, to), false, std::move(message), {}});
    }
  }
  return out;
}

std::optional<DeployAnswer> can_i_deploy(const Registry& registry, std::string_view name, std::string_view version) {
  auto* self = registry.version(name, version);
  if (!self) return std::nullopt;
  DeployAnswer answer;
  for (auto* contract : registry.contracts(std::nullopt, name))
    if (accepts(*contract, *self) && !consumer_retired(registry, *contract))
      answer.as_provider.push_back(verify_against(*contract, *self));
  for (auto* contract : registry.contracts(name, std::nullopt)) {
    if (contract->consumer_version()->string_view() != version) continue;
    const auto resolution = registry.graph().resolve(contract->provider()->string_view(), contract->provider_range()->string_view());
    const wire::ServiceVersion* provider =
        resolution.resolved() ? registry.version(resolution.target.name, resolution.target.version) : nullptr;
    if (provider) {
      answer.as_consumer.push_back(verify_against(*contract, *provider));
    } else {
      answer.as_consumer.push_back({consumer_of(*contract), contract->provider()->str() + " " + contract->provider_range()->str(),
                                    false,
                                    "no live version of " + contract->provider()->str() + " satisfies " +
                                        contract->provider_range()->str() + ", which " + consumer_of(*contract) + " needs",
                                    {}});
    }
  }
  for (auto* list : {&answer.as_provider, &answer.as_consumer})
    for (auto& v : *list) answer.deployable &= v.ok;
  return answer;
}

std::vector<Verification> contract_matrix(const Registry& registry, std::string_view provider) {
  std::vector<Verification> out;
  auto contracts = registry.contracts(std::nullopt, provider);
  for (auto* version : registry.versions(provider))
    for (auto* contract : contracts)
      if (live(*version) && accepts(*contract, *version)) out.push_back(verify_against(*contract, *version));
  return out;
}

}  // namespace roster::upstream
