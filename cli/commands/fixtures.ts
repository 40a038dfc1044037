import type { Command } from 'commander';
import { registerFixturesServe } from './fixtures-serve.ts';

/** `fixtures …`: the synthetic world and the local fixture cloud. */
export function registerFixtures(program: Command): Command {
  const fixtures = program
    .command('fixtures')
    .description('generate and serve the synthetic organization');
  registerFixturesServe(fixtures);
  return fixtures;
}
