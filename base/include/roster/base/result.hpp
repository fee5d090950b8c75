// roster's one error idiom: a failure a caller is expected to handle (bad input, a missing file,
// a refused write, a full disk) is returned as a value, Result<T>, never thrown. Exceptions are
// for broken invariants (bugs) only. Why: every boundary must turn failures into a clear answer
// and change nothing; a returned error cannot be forgotten on the way ([[nodiscard]]) and says in
// the signature which calls can fail, where an exception is invisible until it escapes.
//
// Result<T, E> is a small std::expected (C++23) for C++20: it holds a T or an E.
//
//   Result<Version> parse(std::string_view text);
//   auto v = parse("1.2.3");
//   if (!v) return fail(v.error());     // pass it on
//   use(*v);
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace roster {

// What kind of failure it is: a boundary decides how to answer from the kind alone (the HTTP
// face maps kinds to statuses in one place), so domain code never speaks HTTP.
enum class ErrorKind : uint8_t {
  Invalid,       // the input is malformed or contradicts itself
  NotFound,      // what it names does not exist
  Conflict,      // it contradicts what is already there (a forbidden move, a breaking change)
  Rejected,      // well formed, but a registry rule refuses it (an invalid schema, a retired target)
  Unauthorized,  // credentials missing or wrong
  TooLarge,      // beyond a configured limit
  Unavailable,   // something it depends on (a store, a peer) failed: try again later
  Io,            // a file or system call failed
  Corrupt,       // stored or shared bytes fail verification
};

struct Error {
  ErrorKind kind = ErrorKind::Invalid;
  std::string code{};     // stable snake_case identifier for machines: "invalid_document"
  std::string message{};  // one sentence for people
  std::string where{};    // JSON path, frame offset or file path; "" when about the whole input

  // "where: message", or the message alone.
  std::string to_string() const { return where.empty() ? message : where + ": " + message; }
};

template <typename E>
struct Unexpected {
  E error;
};

// The failure to return from a function whose result is a Result<T, E>.
template <typename E>
Unexpected<std::decay_t<E>> fail(E&& error) {
  return {std::forward<E>(error)};
}
inline Unexpected<Error> fail(ErrorKind kind, std::string code, std::string message, std::string where = {}) {
  return {Error{kind, std::move(code), std::move(message), std::move(where)}};
}

// The one exception type, thrown only where an invariant breaks: a Result asked for the value it
// does not have (a bug), or a deployment limit a caller cannot work around at the call (the
// reader client's view() when every reader slot is taken). Never a control path.
class Exception : public std::runtime_error {
 public:
  explicit Exception(Error error) : std::runtime_error(error.to_string()), error_(std::move(error)) {}
  const Error& error() const { return error_; }

 private:
  Error error_;
};

template <typename T, typename E = Error>
class [[nodiscard]] Result {
 public:
  using value_type = T;
  using error_type = E;

  template <typename U = T>
    requires(std::is_constructible_v<T, U &&> && !std::is_same_v<std::remove_cvref_t<U>, Result>)
  Result(U&& value) : v_(std::in_place_index<0>, std::forward<U>(value)) {}
  template <typename F>
    requires std::is_constructible_v<E, F &&>
  Result(Unexpected<F> failure) : v_(std::in_place_index<1>, std::move(failure.error)) {}

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return check(), std::get<0>(v_); }
  const T& value() const& { return check(), std::get<0>(v_); }
  T&& value() && { return check(), std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  template <typename U>
  T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(fallback));
  }

  // Precondition: !has_value().
  const E& error() const& {
    if (has_value()) throw Exception({ErrorKind::Invalid, "bad_result_access", "Result::error() on a value"});
    return std::get<1>(v_);
  }
  E& error() & { return const_cast<E&>(std::as_const(*this).error()); }
  E&& error() && { return std::move(error()); }

 private:
  void check() const {
    if (has_value()) return;
    if constexpr (std::is_same_v<E, Error>)
      throw Exception(std::get<1>(v_));
    else
      throw Exception({ErrorKind::Invalid, "bad_result_access", "Result::value() on an error"});
  }
  std::variant<T, E> v_;
};

template <typename E>
class [[nodiscard]] Result<void, E> {
 public:
  using value_type = void;
  using error_type = E;

  Result() = default;
  template <typename F>
    requires std::is_constructible_v<E, F &&>
  Result(Unexpected<F> failure) : error_(std::move(failure.error)), failed_(true) {}

  bool has_value() const { return !failed_; }
  explicit operator bool() const { return has_value(); }
  void value() const {
    if (!failed_) return;
    if constexpr (std::is_same_v<E, Error>)
      throw Exception(error_);
    else
      throw Exception({ErrorKind::Invalid, "bad_result_access", "Result::value() on an error"});
  }
  const E& error() const& {
    if (!failed_) throw Exception({ErrorKind::Invalid, "bad_result_access", "Result::error() on a value"});
    return error_;
  }
  E& error() & { return const_cast<E&>(std::as_const(*this).error()); }

 private:
  E error_{};
  bool failed_ = false;
};

}  // namespace roster
