// clip-ts zeroshot-eval: zero-shot accuracy on a labelled image set (ImageFolder tree or
// filepath,label CSV), with per-class figures, the most confused pairs and a JSON report.
import { builtinClasses, loadLabelsFile, type ClassPrompt } from '../eval/class-names.js';
import { parseRowFilter, readLabelledSource } from '../eval/labelled-table.js';
import { datasetPrompts, type TemplateSet } from '../eval/templates.js';
import { evaluateZeroShot, formatZeroShotReport } from '../eval/zeroshot-eval.js';
import { writeTextAtomic } from '../weights/atomic-file.js';
import { UsageError, filterOptions, numberOption, parseArgs } from './args.js';
import { Progress } from './progress.js';
import { ZEROSHOT_OPTIONS_HELP, ZEROSHOT_OPTION_SPECS, promptProgress, setUpZeroShot } from './zeroshot-common.js';

export const usage = `usage: clip-ts zeroshot-eval [--model NAME|PATH] --data DIR|CSV [--templates SET|FILE]
                            [--class-names F|SET] [--json] [--out F] [options]

Classifies every image of a labelled set zero-shot against prompts made from the set's class names
and reports top-1, top-5 and mean per-class accuracy (percent), per-class figures and the most
confused pairs of classes.

  --data DIR|CSV      an ImageFolder tree (DIR/CLASS/image.jpg) or a CSV of filepath,label rows
                      (paths relative to the CSV's folder; a header line is allowed), or a CSV
                      whose header names more columns (filepath and label are used)
  --filter COL=V[,V]  only the CSV rows whose column COL is V (or one of the Vs); repeatable;
                      COL=@FILE takes the values from FILE, one per line
  --label-column C    the CSV column holding the class (default label)
  --class-names F|SET the names to put into the templates, one per class in the set's class order
                      (sorted folder names / labels): a labels file (one per line, or JSON; an entry
                      may be a list of synonyms) or a built-in list (imagenet, a dataset of CLIP's
                      prompts.md). Default: the class names, with "_" read as a space
  --json              print the JSON report on stdout (the summary table otherwise)
  --out F             write the JSON report to F
  --confusion-matrix  include the full confusion matrix in the JSON report
  --confused N        pairs listed as most confused (default 10)
  --show-classes N    classes in the table's per-class list, worst first (default 20)
  --workers N         image decoding threads (default min(2, CPUs))
${ZEROSHOT_OPTIONS_HELP}

example:
  clip-ts datasets build emoji emoji
  clip-ts zeroshot-eval --model ViT-B/32 --data emoji/labels.csv --filter style=openmoji --templates FILE`;

function classNamesOption(spec: string | undefined, classCount: number, source: string): { names?: ClassPrompt[]; templates?: TemplateSet } {
  if (spec === undefined) return {};
  const builtin = builtinClasses(spec);
  const names = builtin ?? loadLabelsFile(spec);
  if (names.length !== classCount) {
    throw new Error(`--class-names ${spec}: ${names.length} names, but ${source} has ${classCount} classes (one name per class, in the set's class order)`);
  }
  const ds = datasetPrompts(spec);
  return { names, ...(ds !== undefined ? { templates: { name: ds.name, templates: ds.templates } } : {}) };
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    ...ZEROSHOT_OPTION_SPECS,
    data: { type: 'string', short: 'd' }, 'class-names': { type: 'string' }, json: { type: 'flag' }, out: { type: 'string', short: 'o' },
    filter: { type: 'list' }, 'label-column': { type: 'string' }, 'confusion-matrix': { type: 'flag' }, confused: { type: 'string' }, 'show-classes': { type: 'string' }, workers: { type: 'string' },
  });
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}" (give the data with --data DIR|CSV)`);
  const dataSpec = args.values.get('data');
  if (dataSpec === undefined) throw new UsageError('--data DIR|CSV is required');
  const confused = numberOption(args, 'confused', 10, { min: 0, integer: true });
  const showClasses = numberOption(args, 'show-classes', 20, { min: 0, integer: true });
  const workers = args.values.has('workers') ? numberOption(args, 'workers', 0, { min: 0, integer: true }) : undefined;
  // Everything that can be checked without the model is checked first.
  const filters = filterOptions(args, 'filter', parseRowFilter);
  const labelColumn = args.values.get('label-column');
  const data = readLabelledSource(dataSpec, { filters, ...(labelColumn !== undefined ? { labelColumn } : {}) });
  const classNames = classNamesOption(args.values.get('class-names'), data.classes.length, data.source);
  const setup = await setUpZeroShot(args);
  const templates = setup.templates ?? classNames.templates ?? setup.defaultTemplates;

  const prompts = promptProgress(setup.quiet);
  let images: Progress | undefined;
  const result = await evaluateZeroShot(setup.model, data, {
    templates: templates.templates, templatesName: templates.name, modelName: setup.modelName,
    cache: setup.cache, truncate: setup.truncate, imageBatchSize: setup.batchSize, workers,
    confusedPairs: confused, includeMatrix: args.flags.has('confusion-matrix'),
    ...(classNames.names !== undefined ? { classNames: classNames.names } : {}),
    onTextProgress: prompts.onProgress,
    onProgress: (done, total) => {
      if (setup.quiet) return;
      if (images === undefined) {
        prompts.finish();
        images = new Progress({ label: 'classifying', total, unit: 'images' });
      }
      images.update(done);
    },
  });
  images?.finish();
  const json = JSON.stringify(result.report, null, 2) + '\n';
  const out = args.values.get('out');
  if (out !== undefined) writeTextAtomic(out, json);
  if (args.flags.has('json')) process.stdout.write(json);
  else process.stdout.write(formatZeroShotReport(result.report, { classes: showClasses }) + '\n');
  if (out !== undefined && !setup.quiet) process.stderr.write(`clip-ts zeroshot-eval: wrote the report to ${out}\n`);
  return 0;
}
