/**
 * The DTS grammar (dtc 1.6.1's, rule for rule) as a chevrotain parser with embedded
 * actions: the tree is built while parsing, because DTS is order-dependent — `&label { }`,
 * `/delete-node/ &x;` and `/omit-if-no-ref/` act on the tree as it stands at that point.
 */
import { createTokenInstance, EmbeddedActionsParser, EOF, MismatchedTokenException, NoViableAltException, type IRecognitionException, type IToken, type TokenType } from 'chevrotain';
import { Diagnostics, suggest, suggestionDistance } from './diagnostics.js';
import { DeferredSpan, offsetSpan, resolveSpan, type LazySpan, type SourceSpan, type SpanLike } from './source.js';
import { TreeBuilder, deleteNode } from './build.js';
import { FileAccess, isFileProblem, problemText } from './files.js';
import { addLabel, Data, DataBuilder, type DtInfo, MAX_NESTING_DEPTH, newData, newProperty, Node, PathIndex, type Property, type ReserveEntry } from './tree.js';
import * as T from './tokens.js';
import type { DtsToken } from './tokens.js';
import type { CellArrayValue, TokenStream } from './lexer.js';

const U64 = (1n << 64n) - 1n;
const u64 = (v: bigint) => v & U64;

interface Expr {
  v: bigint;
  s: DtsToken;
  e: DtsToken;
}

interface Ref {
  ref: string;
  tok: DtsToken;
}

interface NodeFrame {
  node: Node;
  /** The `{` that opened the body. */
  open: DtsToken;
  sawChild: boolean;
  /** Labels and /omit-if-no-ref/ read before the current entry. */
  prefix: DtsToken[];
}

export interface ParseContext {
  diagnostics: Diagnostics;
  files: FileAccess;
  builder: TreeBuilder;
  /** The input's name, where an input without a single token is reported. */
  name?: string;
}

const span = (t: DtsToken): LazySpan => (t instanceof T.ScannedToken ? t : new DeferredSpan(t.unit, t.startOffset, t.endOffset! + 1));
const spanOf = (a: DtsToken, b: DtsToken): DeferredSpan =>
  new DeferredSpan(a.unit, a.startOffset, a.unit === b.unit ? b.endOffset! + 1 : a.endOffset! + 1);

/** What the parser reads tokens from: the scanner as it goes, or a list scanned before. */
type TokenSource = Pick<TokenStream, 'window' | 'base' | 'at' | 'release'>;

const END = createTokenInstance(EOF, '', NaN, NaN, NaN, NaN, NaN, NaN);
const NO_TOKENS: TokenSource = listSource([]);

function listSource(tokens: readonly DtsToken[]): TokenSource {
  return { window: tokens, base: 0, at: (i) => tokens[i], release: () => {} };
}

class DtsParser extends EmbeddedActionsParser {
  ctx!: ParseContext;
  private plugin = false;

  constructor() {
    super(T.ALL_TOKENS, { maxLookahead: 2, recoveryEnabled: false, skipValidations: true });
    this.performSelfAnalysis();
  }

  // Chevrotain reads its input through these (its documented hook for lexers that
  // run alongside the parser); ours come from a TokenSource instead of a full array.
  source: TokenSource = NO_TOKENS;
  /** The source's window as last seen (LA reads it directly while it holds the token). */
  private win: readonly DtsToken[] = [];
  private winBase = 0;
  private terminated = false;
  /** Chevrotain's index of the last consumed token (not in its typings). */
  declare currIdx: number;

  start(source: TokenSource): void {
    this.input = [];
    this.source = source;
    this.terminated = false;
    this.frames = []; // (a parse that failed leaves its open nodes behind)
    this.tooDeep = false;
    this.refresh();
  }

  private refresh(): void {
    this.win = this.terminated ? [] : this.source.window;
    this.winBase = this.source.base;
  }

  protected override LA(howMuch: number): IToken {
    const j = this.currIdx + howMuch - this.winBase;
    if (j >= 0 && j < this.win.length) return this.win[j];
    return this.laSlow(this.currIdx + howMuch);
  }

  private laSlow(i: number): IToken {
    if (i < 0 || this.terminated) return END;
    const t = this.source.at(i);
    this.refresh();
    return t ?? END;
  }

  protected override LA_FAST(howMuch: number): IToken {
    return this.LA(howMuch);
  }

  consumeToken(): void {
    this.currIdx++;
    // What lies well behind the parser is never looked at again.
    if ((this.currIdx & 1023) === 0) {
      this.source.release(this.currIdx - 64);
      this.refresh();
    }
  }

  moveToTerminatedState(): void {
    this.terminated = true;
    this.refresh();
  }

  private err(code: string, message: string, at: SpanLike, hint?: string): void {
    this.ctx.diagnostics.error(code, message, resolveSpan(at), hint ? { hint } : {});
  }

  private refNotFound(r: Ref, root: Node): void {
    const b = this.ctx.builder;
    let hint: string | undefined;
    if (r.ref.startsWith('/')) {
      const s = suggest(r.ref, new PathIndex(root).near(r.ref.length, suggestionDistance(r.ref)));
      if (s) hint = `did you mean '&{${s}}'?`;
    } else {
      const live = [...b.labels.names()].filter((l) => b.labels.lookup(root, l));
      const s = suggest(r.ref, live);
      if (s) hint = `did you mean '&${s}'?`;
    }
    this.err('dts-unknown-ref', `Label or path ${r.ref} not found`, span(r.tok), hint);
  }

  // sourcefile: headers memreserves devicetree
  sourceFile = this.RULE('sourceFile', (): DtInfo => {
    const flags = this.SUBRULE(this.headers);
    const reserves = this.SUBRULE(this.memreserves);
    const root = this.SUBRULE(this.devicetree);
    return this.ACTION(() => ({ v1: flags.v1, plugin: flags.plugin, reserves, root, bootCpuid: 0 }));
  });

  headers = this.RULE('headers', () => {
    let flags: { v1: boolean; plugin: boolean } | undefined;
    this.AT_LEAST_ONE(() => {
      const v = this.CONSUME(T.V1) as DtsToken;
      this.CONSUME(T.Semi);
      let plugin = false;
      this.OPTION(() => {
        this.CONSUME(T.Plugin);
        this.CONSUME2(T.Semi);
        plugin = true;
      });
      this.ACTION(() => {
        if (!flags) {
          flags = { v1: true, plugin };
          this.plugin = plugin;
        } else if (flags.plugin !== plugin) this.err('dts-header-mismatch', "Header flags don't match earlier ones", span(v));
      });
    });
    return flags ?? { v1: true, plugin: false };
  });

  memreserves = this.RULE('memreserves', () => {
    const list: ReserveEntry[] = [];
    this.MANY(() => {
      const labels: DtsToken[] = [];
      this.MANY2(() => labels.push(this.CONSUME(T.Label) as DtsToken));
      const kw = this.CONSUME(T.MemReserve) as DtsToken;
      const addr = this.SUBRULE(this.integerPrim);
      const size = this.SUBRULE2(this.integerPrim);
      this.CONSUME(T.Semi);
      this.ACTION(() => {
        const entry: ReserveEntry = { address: addr.v, size: size.v, labels: [], loc: span(kw) };
        for (let i = labels.length - 1; i >= 0; i--) addLabel(entry, labels[i].value as string, span(labels[i]));
        list.push(entry);
      });
    });
    return list;
  });

  dtRef = this.RULE('dtRef', (): Ref => {
    const tok = this.OR([{ ALT: () => this.CONSUME(T.LabelRef) }, { ALT: () => this.CONSUME(T.PathRef) }]) as DtsToken;
    return { ref: tok.value as string, tok };
  });

  devicetree = this.RULE('devicetree', (): Node => {
    const b = this.ACTION(() => this.ctx.builder);
    let root!: Node;
    this.OR([
      {
        ALT: () => {
          const slash = this.CONSUME(T.Slash) as DtsToken;
          const n = this.SUBRULE(this.nodedef);
          this.ACTION(() => {
            n.name = '';
            n.loc = span(slash);
            root = n;
          });
        },
      },
      {
        ALT: () => {
          const r = this.SUBRULE(this.dtRef);
          const n = this.SUBRULE2(this.nodedef);
          this.ACTION(() => {
            root = new Node('');
            if (!this.plugin) this.refNotFound(r, root);
            b.addOrphanNode(root, n, r.ref, span(r.tok));
          });
        },
      },
    ]);
    this.MANY(() => {
      this.OR2([
        {
          ALT: () => {
            const slash = this.CONSUME2(T.Slash) as DtsToken;
            const n = this.SUBRULE3(this.nodedef);
            this.ACTION(() => {
              n.loc = span(slash);
              b.mergeNodes(root, n);
            });
          },
        },
        {
          ALT: () => {
            const label = this.CONSUME(T.Label) as DtsToken;
            const r = this.SUBRULE2(this.dtRef);
            const n = this.SUBRULE4(this.nodedef);
            this.ACTION(() => {
              const target = b.nodeByRef(root, r.ref);
              if (target) {
                b.addNodeLabel(target, label.value as string, span(label));
                n.loc = span(r.tok);
                b.mergeNodes(target, n);
              } else this.refNotFound(r, root);
            });
          },
        },
        {
          ALT: () => {
            const tok = this.OR3([{ ALT: () => this.CONSUME2(T.PathRef) }, { ALT: () => this.CONSUME2(T.LabelRef) }]) as DtsToken;
            const n = this.SUBRULE5(this.nodedef);
            this.ACTION(() => {
              const r = { ref: tok.value as string, tok };
              const isPath = tok.tokenType === T.PathRef;
              const target = isPath && this.plugin ? undefined : b.nodeByRef(root, r.ref);
              n.loc = span(tok);
              if (target) b.mergeNodes(target, n);
              else if (this.plugin) b.addOrphanNode(root, n, r.ref, span(tok));
              else this.refNotFound(r, root);
            });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.DelNode);
            const r = this.SUBRULE3(this.dtRef);
            this.CONSUME(T.Semi);
            this.ACTION(() => {
              const target = b.nodeByRef(root, r.ref);
              if (target) deleteNode(target);
              else this.refNotFound(r, root);
            });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.OmitNoRef);
            const r = this.SUBRULE4(this.dtRef);
            this.CONSUME2(T.Semi);
            this.ACTION(() => {
              const target = b.nodeByRef(root, r.ref);
              if (target) target.omitIfUnused = true;
              else this.refNotFound(r, root);
            });
          },
        },
      ]);
    });
    return root;
  });

  // The rules below run once per node, property and value piece of the input, so they
  // avoid allocating per call: alternatives are built once (chevrotain's "OR caching"),
  // actions test RECORDING_PHASE instead of taking closures, and per-node state lives in
  // a stack of frames (node bodies nest) rather than in captured locals.

  private frames: NodeFrame[] = [];
  /** The value being built by propdata/piece (values do not nest). */
  private data = new DataBuilder();

  private get frame(): NodeFrame {
    return this.frames[this.frames.length - 1];
  }

  // nodedef: '{' proplist subnodes '}' ';'  (properties must come before subnodes)
  //
  // A child's body is read by this same loop, not by recursion: `name {` opens a frame
  // for the child, `};` closes it (see itemAlts), and the loop ends at the `}` of the
  // node it started with. Recursing took a dozen JS frames per level, so a tree some
  // 550 levels deep overflowed the stack; the frames live on the heap instead.
  nodedef = this.RULE('nodedef', (): Node => {
    const open = this.CONSUME(T.LBrace) as DtsToken;
    if (!this.RECORDING_PHASE) {
      const n = new Node();
      n.loc = span(open);
      this.frames.push({ node: n, open, sawChild: false, prefix: [] });
    }
    this.MANY(this.body);
    this.CONSUME(T.RBrace);
    const semi = this.CONSUME5(T.Semi) as DtsToken;
    if (this.RECORDING_PHASE) return undefined as unknown as Node;
    const n = this.frames.pop()!.node;
    n.setBody(spanOf(open, semi));
    return n;
  });

  /** Set once nodes nested past MAX_NESTING_DEPTH were reported (once is enough). */
  private tooDeep = false;

  /** Starts reading the body of child `name` (its `{` just read), below the current node. */
  private openChild(name: DtsToken, open: DtsToken): void {
    const child = new Node(name.value as string);
    child.loc = span(name);
    if (this.frames.length > MAX_NESTING_DEPTH && !this.tooDeep) {
      this.tooDeep = true;
      this.err('dts-nesting-too-deep', `node nested more than ${MAX_NESTING_DEPTH} levels deep (the most cosim reads)`, span(name));
    }
    this.frames.push({ node: child, open, sawChild: false, prefix: [] });
  }

  /** The `};` of a child: it joins its parent, with the labels written before its name. */
  private closeChild(semi: DtsToken): void {
    const { node: child, open } = this.frames.pop()!;
    child.setBody(spanOf(open, semi));
    this.addChild(child);
  }

  /** Fails the parse at the next token, as a token no rule expects does. */
  private syntaxErrorAtNext(): never {
    this.fail(new NoViableAltException('no rule expects this token here', this.LA(1), this.LA(0)));
  }

  /** Fails the parse at the next token, as a CONSUME of `expected` does. */
  private mismatchAtNext(expected: TokenType): never {
    const t = this.LA(1);
    this.fail(new MismatchedTokenException(`Expecting token of type --> ${expected.name} <-- but found --> '${t.image}' <--`, t, this.LA(0)));
  }

  /**
   * Records a syntax error and abandons the parse, as chevrotain does with its own (its
   * SAVE_ERROR is not in its typings): parseTokens reports it like any other.
   */
  private fail(e: IRecognitionException & Error): never {
    throw (this as unknown as { SAVE_ERROR(e: Error): Error }).SAVE_ERROR(e);
  }

  /** One entry of a node body: labels and /omit-if-no-ref/, then a property or a child. */
  private nodeItem = (): void => {
    // (Setting an array's length is a runtime call; most items have no prefix.)
    if (!this.RECORDING_PHASE && this.frame.prefix.length !== 0) this.frame.prefix.length = 0;
    this.MANY2(this.itemPrefix);
    this.OR2(this.itemAlts);
  };

  /** The items of the node bodies being read; a `}` ends the loop only in the outermost. */
  private body = { GATE: () => this.frames.length > 1 || this.LA(1).tokenType !== T.RBrace, DEF: this.nodeItem };

  private itemPrefix = (): void => {
    const t = this.OR(this.prefixAlts) as DtsToken;
    if (!this.RECORDING_PHASE) this.frame.prefix.push(t);
  };

  private prefixAlts = [{ ALT: () => this.CONSUME(T.Label) }, { ALT: () => this.CONSUME(T.OmitNoRef) }];

  private itemAlts = [
    {
      // The end of a child's body (the outermost node's is read by nodedef).
      ALT: () => {
        // Labels or /omit-if-no-ref/ right before `}` label nothing: a syntax error at the `}`.
        if (!this.RECORDING_PHASE && this.frame.prefix.length !== 0) this.syntaxErrorAtNext();
        this.CONSUME(T.RBrace);
        const semi = this.CONSUME6(T.Semi) as DtsToken;
        if (!this.RECORDING_PHASE) this.closeChild(semi);
      },
    },
    {
      ALT: () => {
        const t = this.CONSUME(T.SimpleProp) as DtsToken;
        if (!this.RECORDING_PHASE) {
          // The scanner built whole properties (see T.SimpleProp); labels and the like
          // written before the run belong to its first property.
          const props = t.value as Property[];
          this.addProp(props[0]);
          if (props.length > 1) {
            this.frame.prefix.length = 0;
            for (let i = 1; i < props.length; i++) this.addProp(props[i]);
          }
        }
      },
    },
    {
      ALT: () => {
        const kw = this.CONSUME(T.DelProp) as DtsToken;
        const name = this.CONSUME(T.PropNodeName) as DtsToken;
        const end = this.CONSUME(T.Semi) as DtsToken;
        if (!this.RECORDING_PHASE) {
          const p = newProperty(name.value as string, newData(), spanOf(kw, end));
          p.deleted = true;
          this.addProp(p);
        }
      },
    },
    {
      ALT: () => {
        const kw = this.CONSUME(T.DelNode) as DtsToken;
        const name = this.CONSUME2(T.PropNodeName) as DtsToken;
        this.CONSUME2(T.Semi);
        if (!this.RECORDING_PHASE) {
          const child = new Node(name.value as string);
          child.deleted = true;
          child.loc = span(kw);
          this.addChild(child);
        }
      },
    },
    {
      ALT: () => {
        this.nameTok = this.CONSUME3(T.PropNodeName) as DtsToken;
        this.OR3(this.afterNameAlts);
      },
    },
  ];

  /** The name just read in a node body; read back before anything can overwrite it. */
  private nameTok: DtsToken | undefined;

  private afterNameAlts = [
    {
      ALT: () => {
        const name = this.nameTok!;
        const open = this.CONSUME2(T.LBrace) as DtsToken;
        if (!this.RECORDING_PHASE) this.openChild(name, open);
      },
    },
    {
      ALT: () => {
        const name = this.nameTok!;
        this.CONSUME(T.Equals);
        const value = this.SUBRULE(this.propdata);
        const end = this.CONSUME3(T.Semi) as DtsToken;
        if (!this.RECORDING_PHASE) this.addProp(newProperty(name.value as string, value, spanOf(name, end)));
      },
    },
    {
      ALT: () => {
        const name = this.nameTok!;
        const end = this.CONSUME4(T.Semi) as DtsToken;
        if (!this.RECORDING_PHASE) this.addProp(newProperty(name.value as string, newData(), spanOf(name, end)));
      },
    },
  ];

  private addProp(p: Property): void {
    const { node, prefix, sawChild } = this.frame;
    const omit = prefix.find((t) => t.tokenType === T.OmitNoRef);
    if (omit) this.err('dts-syntax', 'syntax error: /omit-if-no-ref/ applies to nodes, not properties', span(omit));
    if (sawChild) this.err('dts-prop-after-subnode', 'Properties must precede subnodes', p.where!);
    for (let i = prefix.length - 1; i >= 0; i--) {
      if (prefix[i].tokenType === T.Label) addLabel(p, prefix[i].value as string, span(prefix[i]));
    }
    node.addProp(p);
  }

  private addChild(child: Node): void {
    const f = this.frame;
    for (let i = f.prefix.length - 1; i >= 0; i--) {
      const t = f.prefix[i];
      if (t.tokenType === T.Label) this.ctx.builder.addNodeLabel(child, t.value as string, span(t));
      else child.omitIfUnused = true;
    }
    f.node.addChild(child);
    f.sawChild = true;
  }

  // propdata: labels* piece (label | ',' labels* piece)*
  propdata = this.RULE('propdata', (): Data => {
    if (!this.RECORDING_PHASE) this.data = new DataBuilder();
    this.MANY(this.valueLabel);
    this.SUBRULE(this.piece);
    this.MANY2(this.afterPiece);
    return this.RECORDING_PHASE ? (undefined as unknown as Data) : this.data.build();
  });

  private valueLabel = (): void => {
    const t = this.CONSUME(T.Label) as DtsToken;
    if (!this.RECORDING_PHASE) this.data.marker('label', t.value as string, span(t));
  };

  private afterPiece = (): void => {
    this.OR(this.afterPieceAlts);
  };

  private afterPieceAlts = [
    {
      ALT: () => {
        const t = this.CONSUME2(T.Label) as DtsToken;
        if (!this.RECORDING_PHASE) this.data.marker('label', t.value as string, span(t));
      },
    },
    {
      ALT: () => {
        this.CONSUME(T.Comma);
        this.MANY3(this.valueLabel3);
        this.SUBRULE2(this.piece);
      },
    },
  ];

  private valueLabel3 = (): void => {
    const t = this.CONSUME3(T.Label) as DtsToken;
    if (!this.RECORDING_PHASE) this.data.marker('label', t.value as string, span(t));
  };

  piece = this.RULE('piece', () => {
    this.OR(this.pieceAlts);
  });

  private pieceAlts = [
    {
      ALT: () => {
        const s = this.CONSUME(T.StringLit) as DtsToken;
        if (!this.RECORDING_PHASE) this.data.marker('string').bytes(s.value as Uint8Array);
      },
    },
    { ALT: () => this.SUBRULE(this.array) },
    {
      ALT: () => {
        const t = this.CONSUME(T.CellArray) as DtsToken;
        if (this.RECORDING_PHASE) return;
        const arr = t.value as CellArrayValue;
        const b = this.data;
        b.marker('u32');
        const base = b.length;
        b.bytes(arr.bytes);
        // Reference markers at their cells' offsets, as the token-by-token rule places them.
        if (arr.refs) for (const r of arr.refs) b.markers.push({ kind: 'ref-phandle', offset: base + r.offset, ref: r.ref, loc: offsetSpan(t.unit, r.start, r.end) });
      },
    },
    {
      ALT: () => {
        const t = this.CONSUME(T.ByteArray) as DtsToken;
        if (!this.RECORDING_PHASE) this.data.marker('u8').bytes(t.value as Uint8Array);
      },
    },
    {
      ALT: () => {
        this.CONSUME(T.LBracket);
        if (!this.RECORDING_PHASE) this.data.marker('u8');
        this.MANY(this.byteItem);
        this.CONSUME(T.RBracket);
      },
    },
    {
      ALT: () => {
        const r = this.SUBRULE(this.dtRef);
        if (!this.RECORDING_PHASE) this.data.marker('string', r.ref, span(r.tok)).marker('ref-path', r.ref, span(r.tok));
      },
    },
    { ALT: () => this.SUBRULE(this.incbin) },
  ];

  private byteItem = (): void => {
    this.OR2(this.byteAlts);
  };

  private byteAlts = [
    {
      ALT: () => {
        const t = this.CONSUME(T.Byte) as DtsToken;
        if (!this.RECORDING_PHASE) this.data.byte(t.value as number);
      },
    },
    {
      ALT: () => {
        const t = this.CONSUME(T.Label) as DtsToken;
        if (!this.RECORDING_PHASE) this.data.marker('label', t.value as string, span(t));
      },
    },
  ];

  array = this.RULE('array', () => {
    const b = this.data;
    let bits: 8 | 16 | 32 | 64 = 32;
    this.OPTION(() => {
      this.CONSUME(T.Bits);
      const lit = this.CONSUME(T.Literal) as DtsToken;
      this.ACTION(() => {
        const v = lit.value as bigint;
        if (v === 8n || v === 16n || v === 32n || v === 64n) bits = Number(v) as 8 | 16 | 32 | 64;
        else this.err('dts-bad-bits', 'Array elements must be 8, 16, 32 or 64-bits', span(lit));
      });
    });
    this.CONSUME(T.LAngle);
    this.ACTION(() => b.marker(`u${bits}` as 'u8' | 'u16' | 'u32' | 'u64'));
    this.MANY(() => {
      this.OR([
        {
          ALT: () => {
            const x = this.SUBRULE(this.integerPrim);
            this.ACTION(() => {
              if (bits < 64) {
                const mask = (1n << BigInt(bits)) - 1n;
                if (x.v > mask && (x.v | mask) !== U64)
                  this.err('dts-value-range', `Value out of range for ${bits}-bit array element`, spanOf(x.s, x.e));
              }
              b.int(x.v, bits);
            });
          },
        },
        {
          ALT: () => {
            const r = this.SUBRULE(this.dtRef);
            this.ACTION(() => {
              if (bits === 32) b.marker('ref-phandle', r.ref, span(r.tok));
              else this.err('dts-ref-width', 'References are only allowed in arrays with 32-bit elements.', span(r.tok));
              b.int(U64 >> BigInt(64 - bits), bits);
            });
          },
        },
        {
          ALT: () => {
            const t = this.CONSUME(T.Label) as DtsToken;
            this.ACTION(() => b.marker('label', t.value as string, span(t)));
          },
        },
      ]);
    });
    this.CONSUME(T.RAngle);
  });

  incbin = this.RULE('incbin', () => {
    const b = this.data;
    const kw = this.CONSUME(T.Incbin) as DtsToken;
    this.CONSUME(T.LParen);
    const file = this.CONSUME(T.StringLit) as DtsToken;
    let offset: Expr | undefined;
    let length: Expr | undefined;
    this.OPTION(() => {
      this.CONSUME(T.Comma);
      offset = this.SUBRULE(this.integerPrim);
      this.CONSUME2(T.Comma);
      length = this.SUBRULE2(this.integerPrim);
    });
    const close = this.CONSUME(T.RParen) as DtsToken;
    this.ACTION(() => {
      const bytes = file.value as Uint8Array;
      const name = Buffer.from(bytes.subarray(0, bytes.length - 1)).toString('latin1');
      const found = this.ctx.files.locateBinary(name, file.unit.dir);
      const where = spanOf(kw, close);
      b.marker('none');
      if (isFileProblem(found)) {
        this.err(found.code, `couldn't open "${name}": ${problemText(found, name)}`, span(file));
        return;
      }
      if (!found) {
        this.err('dts-incbin-not-found', `couldn't open "${name}": no such file`, span(file), `searched ${this.ctx.files.searchedDirs(file.unit.dir).map((d) => `'${d}'`).join(', ')}`);
        return;
      }
      const off = offset ? offset.v : 0n;
      const want = length ? length.v : BigInt(found.size) - off;
      if (off > BigInt(found.size) || off + want > BigInt(found.size)) {
        this.err('dts-incbin-range', `/incbin/ asks for ${want} bytes at offset ${off} of "${found.path}", which has only ${found.size} bytes`, where);
        return;
      }
      const data = this.ctx.files.readRange(found.path, Number(off), Number(want));
      if (isFileProblem(data)) this.err(data.code, `couldn't read "${found.path}": ${data.reason}`, where);
      else b.bytes(data);
    });
  });

  // Integer expressions: C precedence, evaluated in uint64 like dtc.
  integerPrim = this.RULE('integerPrim', (): Expr => {
    return this.OR([
      {
        ALT: () => {
          const t = this.CONSUME(T.Literal) as DtsToken;
          return { v: t.value as bigint, s: t, e: t };
        },
      },
      {
        ALT: () => {
          const t = this.CONSUME(T.CharLiteral) as DtsToken;
          return { v: t.value as bigint, s: t, e: t };
        },
      },
      { ALT: () => (this.RECORDING_PHASE ? this.recordParenthesized() : this.parenthesized()) },
    ]);
  });

  /** What the grammar recording needs of `( expr )`: that it starts with `(`. */
  private recordParenthesized(): Expr {
    const open = this.CONSUME(T.LParen) as DtsToken;
    const close = this.CONSUME(T.RParen) as DtsToken;
    return { v: 0n, s: open, e: close };
  }

  /**
   * `( expr )` with dtc's expression grammar (C's binary operators and precedence, unary
   * `-` `~` `!`, a right-associative `?:`), evaluated as it is read. An operator-precedence
   * loop over explicit stacks, where a rule per precedence level took some fifty JS
   * frames per parenthesis and a few hundred nested ones overflowed the stack (dtc reads
   * thousands). Each operation is done when its right operand is complete, as the rules'
   * actions did, and a syntax error is raised as chevrotain raised it, at the same token.
   */
  private parenthesized(): Expr {
    const ops: Pending[] = [{ kind: 'paren', tok: this.take() }];
    const vals: Expr[] = [];
    let operandNext = true;
    for (;;) {
      const t = this.LA(1) as DtsToken;
      const type = t.tokenType;
      if (operandNext) {
        if (type === T.Literal || type === T.CharLiteral) {
          vals.push({ v: t.value as bigint, s: t, e: this.take() });
          operandNext = false;
        } else if (type === T.LParen) ops.push({ kind: 'paren', tok: this.take() });
        else if (type === T.Minus || type === T.Tilde || type === T.Bang) ops.push({ kind: 'unary', tok: this.take() });
        else this.syntaxErrorAtNext();
        continue;
      }
      const op = this.binaryOps.get(type);
      if (op) {
        this.reduce(ops, vals, op.prec);
        ops.push({ kind: 'binary', tok: this.take(), op });
        operandNext = true;
        continue;
      }
      // Anything else ends the operand: the operations in it are complete.
      this.reduce(ops, vals, 0);
      if (type === T.Question) {
        this.take();
        ops.push({ kind: 'question', cond: vals.pop()! });
        operandNext = true;
        continue;
      }
      // `?:` else-branches end too, and the innermost `(` or `?` must be closed here.
      for (let top = ops[ops.length - 1]; top.kind === 'colon'; top = ops[ops.length - 1]) {
        ops.pop();
        const b = vals.pop()!;
        vals.push({ v: top.cond.v ? top.then.v : b.v, s: top.cond.s, e: b.e });
      }
      const open = ops[ops.length - 1];
      if (open.kind === 'question' && type === T.Colon) {
        this.take();
        ops[ops.length - 1] = { kind: 'colon', cond: open.cond, then: vals.pop()! };
        operandNext = true;
      } else if (open.kind === 'paren' && type === T.RParen) {
        ops.pop();
        const inner: Expr = { v: vals.pop()!.v, s: open.tok, e: this.take() };
        if (ops.length === 0) return inner;
        vals.push(inner);
      } else this.mismatchAtNext(open.kind === 'paren' ? T.RParen : T.Colon);
    }
  }

  /** Does the pending unary operations, and binary ones of precedence `minPrec` or more. */
  private reduce(ops: Pending[], vals: Expr[], minPrec: number): void {
    for (let top = ops[ops.length - 1]; ; top = ops[ops.length - 1]) {
      if (top.kind === 'unary') {
        const x = vals.pop()!;
        const type = top.tok.tokenType;
        const v = type === T.Minus ? u64(-x.v) : type === T.Tilde ? u64(~x.v) : x.v === 0n ? 1n : 0n;
        vals.push({ v, s: top.tok, e: x.e });
      } else if (top.kind === 'binary' && top.op.prec >= minPrec) {
        const r = vals.pop()!;
        const l = vals.pop()!;
        vals.push({ v: u64(top.op.apply(l.v, r.v, l, r)), s: l.s, e: r.e });
      } else return;
      ops.pop();
    }
  }

  /** The next token, consumed. */
  private take(): DtsToken {
    const t = this.LA(1) as DtsToken;
    this.consumeToken();
    return t;
  }

  private divide = (a: bigint, b: bigint, l: Expr, r: Expr, mod: boolean): bigint => {
    if (b === 0n) {
      this.err('dts-division-by-zero', 'Division by zero', spanOf(l.s, r.e));
      return 0n;
    }
    return mod ? a % b : a / b;
  };

  /** The binary operators by token, with C's precedence (higher binds tighter). */
  private readonly binaryOps = new Map<TokenType, BinaryOp>(
    (
      [
        [10, T.Star, (a, b) => a * b],
        [10, T.Slash, (a, b, l, r) => this.divide(a, b, l, r, false)],
        [10, T.Percent, (a, b, l, r) => this.divide(a, b, l, r, true)],
        [9, T.Plus, (a, b) => a + b],
        [9, T.Minus, (a, b) => a - b],
        [8, T.LShift, (a, b) => (b < 64n ? a << b : 0n)],
        [8, T.RShift, (a, b) => (b < 64n ? a >> b : 0n)],
        [7, T.LAngle, (a, b) => (a < b ? 1n : 0n)],
        [7, T.RAngle, (a, b) => (a > b ? 1n : 0n)],
        [7, T.LE, (a, b) => (a <= b ? 1n : 0n)],
        [7, T.GE, (a, b) => (a >= b ? 1n : 0n)],
        [6, T.EQ, (a, b) => (a === b ? 1n : 0n)],
        [6, T.NE, (a, b) => (a !== b ? 1n : 0n)],
        [5, T.Amp, (a, b) => a & b],
        [4, T.Caret, (a, b) => a ^ b],
        [3, T.Pipe, (a, b) => a | b],
        [2, T.AndAnd, (a, b) => (a !== 0n && b !== 0n ? 1n : 0n)],
        [1, T.OrOr, (a, b) => (a !== 0n || b !== 0n ? 1n : 0n)],
      ] as Array<[number, TokenType, BinaryOp['apply']]>
    ).map(([prec, type, apply]) => [type, { prec, apply }]),
  );
}

/** A binary operator: its precedence and what it computes (before the uint64 wrap). */
interface BinaryOp {
  prec: number;
  apply: (a: bigint, b: bigint, l: Expr, r: Expr) => bigint;
}

/** What parenthesized() has open: a `(`, an operator waiting for its right operand, or a `?:` waiting for its next branch. */
type Pending =
  | { kind: 'paren'; tok: DtsToken }
  | { kind: 'unary'; tok: DtsToken }
  | { kind: 'binary'; tok: DtsToken; op: BinaryOp }
  | { kind: 'question'; cond: Expr }
  | { kind: 'colon'; cond: Expr; then: Expr };

let shared: DtsParser | undefined;

/** Describes a token for a syntax error message. */
function describe(t: DtsToken): string {
  if (t.tokenType === EOF) return 'end of input';
  const img = t.image.length > 30 ? t.image.slice(0, 30) + '…' : t.image;
  return `'${img.replace(/\0/g, '\\0')}'`;
}

function expectedFrom(e: IRecognitionException): string | undefined {
  const m = /-->\s*([^<\s]+)\s*<--/.exec(e.message);
  return m ? m[1] : undefined;
}

/**
 * Parses tokens into a tree. Returns undefined on a syntax error (reported in the
 * diagnostics); semantic errors are reported and parsing goes on.
 */
export function parseTokens(tokens: DtsToken[] | TokenStream, ctx: ParseContext): DtInfo | undefined {
  shared ??= new DtsParser();
  const p = shared;
  p.ctx = ctx;
  (p as unknown as { plugin: boolean }).plugin = false;
  p.start(Array.isArray(tokens) ? listSource(tokens) : tokens);
  let info: DtInfo | undefined;
  try {
    info = p.sourceFile();
  } finally {
    // Nothing of the input stays with the shared parser (its errors are read below).
    p.source = NO_TOKENS;
  }
  if (p.errors.length > 0) {
    const e = p.errors[0];
    const tok = e.token as DtsToken;
    const last = Array.isArray(tokens) ? tokens[tokens.length - 1] : tokens.last;
    const real = tok.tokenType === EOF || !tok.unit ? last : tok;
    const at: SourceSpan = real ? span(real).resolve() : { file: ctx.name ?? '<input>', line: 1, col: 1 };
    const expected = expectedFrom(e);
    const found = tok.tokenType === EOF || !tok.unit ? 'end of input' : describe(tok);
    ctx.diagnostics.error('dts-syntax', `syntax error: unexpected ${found}`, at, expected ? { hint: `expected ${expected}` } : {});
    return undefined;
  }
  return info;
}
