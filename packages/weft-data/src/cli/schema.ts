// `weft schema`: the JSON Schema of plan config files.
import { type Command, UsageError } from './command.ts';

export const command: Command = {
  usage: '',
  summary:
    'Print the JSON Schema of plan config files (the package ships it too, as schema/plan-config.schema.json).',
  options: {},
  async run({ positionals }) {
    if (positionals.length > 0) {
      throw new UsageError(`weft schema takes no arguments, got ${JSON.stringify(positionals)}`);
    }
    const { planConfigJsonSchema } = await import('./plan-config.ts');
    console.log(JSON.stringify(planConfigJsonSchema(), null, 2));
  },
};
