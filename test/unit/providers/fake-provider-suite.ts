/** Mocha hooks shared by the suites that run against one fake provider. */
import { startFakeProvider, type FakeProvider } from '../../fakes/providers';

/**
 * Starts a fake provider before the suite (handing it to `use`), resets it after each test and
 * closes it after the suite. Call it inside `describe`.
 */
export function useFakeProvider(use: (fake: FakeProvider) => void): void {
  let fake: FakeProvider | undefined;
  before(async () => {
    fake = await startFakeProvider();
    use(fake);
  });
  afterEach(() => fake?.reset());
  after(async () => {
    await fake?.close();
  });
}
