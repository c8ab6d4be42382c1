// weft's one vocabulary of element types and the arrays that hold them. Every module that names an element
// type (a collate option, a TensorDataset column, a binary file, a TensorFlow.js conversion) uses `DType` or a
// subset of it, so that a type written once means the same typed array everywhere.

/**
 * Every typed-array type weft reads or makes.
 *
 * @example
 * ```ts
 * const pixels: TypedArray = new Uint8ClampedArray(16);
 * ```
 */
export type TypedArray =
  | Float64Array
  | Float32Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | BigInt64Array
  | BigUint64Array;

/**
 * A dense row-major array with its shape: what stacking typed arrays or nested number arrays gives.
 *
 * @example
 * ```ts
 * const t: Tensor<Float32Array> = { data: new Float32Array(6), shape: [2, 3] };
 * ```
 */
export interface Tensor<A extends TypedArray = TypedArray> {
  /** The elements, row-major (last dimension fastest); its length is the product of `shape`. */
  data: A;
  /** Size of each dimension, outermost first; for a collated batch the first is the batch size. */
  shape: number[];
}

/**
 * An element type, named as in torch and numpy; `bool` is a `Uint8Array` of 0s and 1s.
 *
 * @example
 * ```ts
 * const label: DType = 'int32'; // an Int32Array
 * ```
 */
export type DType = keyof DTypeArrays;

/**
 * The typed array that holds each {@link DType}.
 *
 * @example
 * ```ts
 * type Labels = DTypeArrays['int32']; // Int32Array
 * ```
 */
export interface DTypeArrays {
  /** 32-bit floats. */
  float32: Float32Array;
  /** 64-bit floats (JavaScript's numbers). */
  float64: Float64Array;
  /** 8-bit signed integers. */
  int8: Int8Array;
  /** 16-bit signed integers. */
  int16: Int16Array;
  /** 32-bit signed integers. */
  int32: Int32Array;
  /** 64-bit signed integers, as bigints. */
  bigint64: BigInt64Array;
  /** 8-bit unsigned integers. */
  uint8: Uint8Array;
  /** 16-bit unsigned integers. */
  uint16: Uint16Array;
  /** 32-bit unsigned integers. */
  uint32: Uint32Array;
  /** Booleans as 0 or 1. */
  bool: Uint8Array;
}

/**
 * The constructor of each {@link DType}'s typed array: the one table of them, which every module indexes.
 *
 * @example
 * ```ts
 * const labels = new DTYPE_ARRAYS.int32(8); // Int32Array(8)
 * ```
 */
export const DTYPE_ARRAYS: {
  readonly [D in DType]: {
    new (length: number): DTypeArrays[D];
    new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): DTypeArrays[D];
    readonly BYTES_PER_ELEMENT: number;
    readonly name: string;
  };
} = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  bigint64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  bool: Uint8Array,
};

/**
 * The least and the greatest value of each {@link DType} that holds integers as numbers (`bool` holds 0 and 1).
 *
 * @example
 * ```ts
 * const [lo, hi] = INTEGER_RANGES.uint8; // [0, 255]
 * ```
 */
export const INTEGER_RANGES: {
  readonly [D in 'int8' | 'int16' | 'int32' | 'uint8' | 'uint16' | 'uint32' | 'bool']: readonly [
    number,
    number,
  ];
} = {
  int8: [-0x80, 0x7f],
  int16: [-0x8000, 0x7fff],
  int32: [-0x80000000, 0x7fffffff],
  uint8: [0, 0xff],
  uint16: [0, 0xffff],
  uint32: [0, 0xffffffff],
  bool: [0, 1],
};
