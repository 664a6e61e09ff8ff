import type { IConstruct } from 'constructs';

/**
 * Thrown at synth time when `VersionPurger` props cannot work. The message
 * starts with the construct path, then says what is wrong and how to fix it.
 */
class VersionPurgerValidationError extends Error {
  /** Path of the construct that rejected its props. */
  public readonly constructPath: string;

  constructor(scope: IConstruct, message: string) {
    super(`${scope.node.path}: ${message}`);
    this.name = 'VersionPurgerValidationError';
    this.constructPath = scope.node.path;
  }
}

export { VersionPurgerValidationError };
