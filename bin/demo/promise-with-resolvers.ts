/**
 * `Promise.withResolvers` (ES2024) for Node 20, which lacks it: aws-local-stepfunctions 3.x
 * calls it in every Task state (its task timeout race). Node 22 has it natively, so this
 * does nothing there. Loaded by jest's `setupFiles`, and by the local Step Functions harness
 * itself so that it also works outside jest.
 */
interface Resolvers<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

const promiseConstructor = Promise as unknown as { withResolvers?: <T>() => Resolvers<T> };

promiseConstructor.withResolvers ??= <T>(): Resolvers<T> => {
  let resolve!: Resolvers<T>['resolve'];
  let reject!: Resolvers<T>['reject'];
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
};

export {};
